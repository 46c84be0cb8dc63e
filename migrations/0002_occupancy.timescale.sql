-- TimescaleDB path for occupancy (runs right after 0002_occupancy.sql, only when the extension exists).
--
-- * occupancy_events becomes a hypertable (1-day chunks on occurred_at).
-- * occupancy_5m, a plain table that the service fills on plain PostgreSQL, is replaced by a real-time
--   continuous aggregate with the same name and the same columns (close_seq aside, which only the plain
--   path's upsert needs), so every read is the same SQL on both paths and gives the same answers.
--
-- TimescaleDB refuses continuous aggregates over a hypertable with row security ("cannot create continuous
-- aggregate on hypertable with row security"), and a continuous aggregate cannot carry policies either.
-- So on this path occupancy_events has row-level security off and instead:
--   * a trigger refuses rows for any organisation but the transaction's own (footfall.org_id) when written
--     by the footfall_app role, which is what the policy's WITH CHECK did;
--   * every read of occupancy_events and occupancy_5m in services/occupancy/store.py names its org_id
--     explicitly (it does on both paths).
--
-- This file is executed as one multi-statement string, i.e. in one implicit transaction: the continuous
-- aggregate is created WITH NO DATA (no refresh inside the transaction); real-time aggregation answers
-- from the raw rows until the refresh policy has materialized them.

SELECT create_hypertable(
    'occupancy_events',
    by_range('occurred_at', INTERVAL '1 day'),
    create_default_indexes => false,
    if_not_exists => true,
    migrate_data => true
);

ALTER TABLE occupancy_events DISABLE ROW LEVEL SECURITY;

CREATE OR REPLACE FUNCTION occupancy_events_check_org() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_user = 'footfall_app'
       AND NEW.org_id IS DISTINCT FROM current_setting('footfall.org_id', true) THEN
        RAISE EXCEPTION 'new row violates the tenant isolation of "occupancy_events"'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS occupancy_events_check_org ON occupancy_events;
CREATE TRIGGER occupancy_events_check_org BEFORE INSERT OR UPDATE ON occupancy_events
    FOR EACH ROW EXECUTE FUNCTION occupancy_events_check_org();

DROP TABLE IF EXISTS occupancy_5m;

CREATE MATERIALIZED VIEW IF NOT EXISTS occupancy_5m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
    org_id,
    camera_id,
    time_bucket(INTERVAL '5 minutes', occurred_at) AS bucket,
    sum(CASE WHEN kind = 1 THEN 1 ELSE 0 END)::bigint AS entry_count,
    sum(CASE WHEN kind = -1 THEN 1 ELSE 0 END)::bigint AS exit_count,
    count(*)::bigint AS event_count,
    last(occupancy_after, seq) AS close_occupancy,
    max(CASE WHEN kind = 0 THEN occupancy_after ELSE greatest(occupancy_before, occupancy_after) END)
        AS peak_occupancy,
    max(CASE WHEN kind <> 0 THEN seq END) AS log_id
FROM occupancy_events
GROUP BY org_id, camera_id, time_bucket(INTERVAL '5 minutes', occurred_at)
WITH NO DATA;

GRANT SELECT ON occupancy_5m TO footfall_app;

-- Materialize everything but the last 5 minutes once a minute; invalidations (late events) are re-done.
SELECT add_continuous_aggregate_policy(
    'occupancy_5m',
    start_offset => NULL,
    end_offset => INTERVAL '5 minutes',
    schedule_interval => INTERVAL '1 minute',
    if_not_exists => true
);
