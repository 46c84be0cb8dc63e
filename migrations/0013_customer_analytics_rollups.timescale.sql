-- TimescaleDB path of seed 004's analytics (runs right after 0013_customer_analytics_rollups.sql, only when the
-- extension exists). The rollups stay the tables that 0013's triggers keep exact at every commit; this file
-- only turns TimescaleDB's SkipScan off for this database.
--
-- SkipScan (TimescaleDB's plan for SELECT DISTINCT and count(DISTINCT ...)) fails on a table with row-level
-- security when the query names the organisation too: the policy's condition becomes a one-time filter (a
-- Result node) that SkipScan cannot wrap. Against TimescaleDB 2.29.2 the segment list
--     SELECT DISTINCT segment_name FROM customer_segments WHERE org_id = $1 AND is_active AND segment_name > $2 ...
-- run as footfall_app failed with "ERROR: unsupported subplan type for SkipScan: Result" (the error of
-- timescale/timescaledb#7024) as soon as customer_segments held a few thousand rows. Plain PostgreSQL has no
-- SkipScan, so with it off both paths plan these queries alike. It is a default of the database: sessions
-- opened from now on get it (the services connect after migrating).
--
-- Why no continuous aggregate here (each checked against TimescaleDB 2.29.2):
--   * customer_segment_interaction_days follows segment membership, i.e. changes in another table, which do
--     not invalidate a continuous aggregate;
--   * customer_interaction_days as a real-time continuous aggregate (customer_interactions as a hypertable)
--     does not give the same answers: an interaction added, moved or deleted in a day that the refresh policy
--     has already materialized is missing from it until the next refresh, where 0013 is exact at commit;
--   * TimescaleDB refuses a continuous aggregate over a table with row security ("cannot create continuous
--     aggregate on hypertable with row security"), so customer_interactions would lose its policy.

DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET timescaledb.enable_skipscan = off', current_database());
    EXECUTE format('ALTER DATABASE %I SET timescaledb.enable_skipscan_for_distinct_aggregates = off',
                   current_database());
END
$$;
