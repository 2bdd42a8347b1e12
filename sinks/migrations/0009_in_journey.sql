-- touchpoints.in_journey: whether the row is a touch of a journey, by the rule the stream applies
-- live (streams.enrich.enters_journey), so SQL recomputations (rule_credits_between, account_journeys,
-- reports' Markov / Shapley paths) credit the same touches the stream does. Bots never are; internal
-- navigation (a page_view or form_submit whose referrer is the page's own site, subdomains included,
-- without utm_source / utm_medium) is a page of a session already counted; a form_submit classified
-- direct is a conversion marker, not a touch. Hosts compare lowercased without `www.`. Click ids are not
-- stored, but a click id makes the channel paid, never a direct same-site page, so they change nothing.
-- ALIAS columns: computed on read from the row's own columns, for old rows too, nothing stored;
-- page_host / referrer_host are the hosts as streams.classify.host_of gives them.
-- tests/integration/sinks/test_sink_in_journey.py checks it against enters_journey on generated rows.
ALTER TABLE {db}.touchpoints
    ADD COLUMN IF NOT EXISTS page_host String ALIAS replaceRegexpOne(lower(domain(url)), '^www\\.', ''),
    ADD COLUMN IF NOT EXISTS referrer_host String ALIAS replaceRegexpOne(lower(domain(referrer)), '^www\\.', ''),
    ADD COLUMN IF NOT EXISTS in_journey Bool ALIAS
        NOT is_bot
        AND NOT (type = 'form_submit' AND channel = 'direct')
        AND NOT (
            type IN ('page_view', 'form_submit') AND utm_source = '' AND utm_medium = ''
            AND page_host != '' AND referrer_host != ''
            AND (referrer_host = page_host OR endsWith(referrer_host, concat('.', page_host))
                 OR endsWith(page_host, concat('.', referrer_host)))
        );
