-- marketing_mix_by_channel: spend share vs attributed-pipeline share vs closed-won-revenue share per
-- channel, for one model and period ("paid_search: 60 % of spend, 25 % of pipeline").
-- Returns one row per channel holding spend or credit in the period: category (the credits' channel
-- category, '' = direct; for a channel with spend only, schemas/channels.py CATEGORY_OF, unknown names
-- as 'other'), spend (sum of spend.cost on days in the period), pipeline (revenue_credit at stage
-- 'opportunity'), revenue (revenue_credit at stage 'closed_won'), and spend_share, pipeline_share,
-- revenue_share (of the period's totals; NULL when that total is 0, e.g. a period without spend).
-- Parameters: model, since, until (period [since, until) on the conversion's and the spend's date):
--   SELECT * FROM marketing_mix_by_channel(model = 'linear', since = '2026-01-01', until = '2026-04-01')
-- Reads attribution_credits FINAL (credit != 0, see 0007) and spend FINAL.
CREATE OR REPLACE VIEW {db}.marketing_mix_by_channel AS
WITH
    credited AS (
        SELECT
            toString(channel) AS channel,
            any(if(channel_category = '', 'direct', toString(channel_category))) AS credit_category,
            sumIf(revenue_credit, stage = 'opportunity') AS pipeline,
            sumIf(revenue_credit, stage = 'closed_won') AS revenue
        FROM {db}.attribution_credits FINAL
        WHERE model = {model:String} AND stage IN ('opportunity', 'closed_won') AND credit != 0
          AND toDate(conversion_ts) >= {since:Date} AND toDate(conversion_ts) < {until:Date}
        GROUP BY channel
    ),
    spent AS (
        SELECT toString(channel) AS channel, sum(cost) AS spend
        FROM {db}.spend FINAL
        WHERE date >= {since:Date} AND date < {until:Date}
        GROUP BY channel
    ),
    joined AS (
        SELECT
            channel,
            if(credited.credit_category != '', credited.credit_category, transform(channel,
                ['paid_search', 'organic_search', 'email', 'other', 'paid_social', 'organic_social',
                 'podcast', 'video', 'native_display', 'events', 'review_sites', 'referral', 'direct'],
                ['lead_gen', 'lead_gen', 'lead_gen', 'lead_gen', 'demand_gen', 'demand_gen',
                 'demand_gen', 'demand_gen', 'demand_gen', 'demand_gen', 'demand_gen', 'demand_gen', 'direct'],
                'lead_gen')) AS category,
            spent.spend AS spend,
            credited.pipeline AS pipeline,
            credited.revenue AS revenue
        FROM credited
        FULL OUTER JOIN spent USING (channel)
        SETTINGS join_use_nulls = 0
    )
SELECT
    channel,
    category,
    spend,
    pipeline,
    revenue,
    spend / nullIf(sum(spend) OVER (), 0) AS spend_share,
    pipeline / nullIf(sum(pipeline) OVER (), 0) AS pipeline_share,
    revenue / nullIf(sum(revenue) OVER (), 0) AS revenue_share
FROM joined
WHERE spend != 0 OR pipeline != 0 OR revenue != 0
ORDER BY spend DESC, pipeline DESC, channel
SETTINGS join_use_nulls = 0;
