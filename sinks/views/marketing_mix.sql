-- marketing_mix: spend share vs attributed-pipeline share vs closed-won-revenue share per channel
-- category (demand_gen / lead_gen / direct), for one model and period ("lead_gen: 78 % of spend,
-- 31 % of pipeline"): marketing_mix_by_channel summed by its category column.
-- Returns one row per category holding spend or credit in the period: spend, pipeline (revenue_credit at
-- stage 'opportunity'), revenue (revenue_credit at 'closed_won'), spend_share, pipeline_share,
-- revenue_share (NULL when that total is 0).
-- Parameters: model, since, until (period [since, until) on the conversion's and the spend's date):
--   SELECT * FROM marketing_mix(model = 'linear', since = '2026-01-01', until = '2026-04-01')
-- Reads marketing_mix_by_channel.
CREATE OR REPLACE VIEW {db}.marketing_mix AS
SELECT
    category,
    category_spend AS spend,
    category_pipeline AS pipeline,
    category_revenue AS revenue,
    category_spend / nullIf(sum(category_spend) OVER (), 0) AS spend_share,
    category_pipeline / nullIf(sum(category_pipeline) OVER (), 0) AS pipeline_share,
    category_revenue / nullIf(sum(category_revenue) OVER (), 0) AS revenue_share
FROM (
    SELECT category, sum(spend) AS category_spend, sum(pipeline) AS category_pipeline,
           sum(revenue) AS category_revenue
    FROM {db}.marketing_mix_by_channel(model = {model:String}, since = {since:Date}, until = {until:Date})
    GROUP BY category
)
ORDER BY spend DESC, pipeline DESC, category;
