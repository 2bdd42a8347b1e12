-- rule_credits: rule_credits_between for every conversion of the stage (the Date type ends at 2149-06-06).
-- Returns one row per (conversion, touch, model), the columns of rule_credits_between.
-- Parameters: stage, lookback_days, lead_gen_days, half_life_days. Reads rule_credits_between.
CREATE OR REPLACE VIEW {db}.rule_credits AS
SELECT *
FROM {db}.rule_credits_between(
    stage = {stage:String}, since = '1970-01-01', until = '2149-06-06', lookback_days = {lookback_days:UInt32},
    lead_gen_days = {lead_gen_days:UInt32}, half_life_days = {half_life_days:Float64});
