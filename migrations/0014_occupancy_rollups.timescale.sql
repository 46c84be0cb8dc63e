-- TimescaleDB path for occupancy, continued (runs after 0013, only when the extension exists): occupancy_5m
-- becomes again the table that 0002_occupancy.sql defines and the service keeps in the same transaction as
-- the events, so both paths have one write path and answer exactly at commit. occupancy_events stays the
-- hypertable of 0002_occupancy.timescale.sql.
--
-- Why not the continuous aggregate of 0002_occupancy.timescale.sql (checked against TimescaleDB 2.29.2):
-- once the refresh policy has materialized a time range, real-time aggregation answers that range from the
-- materialization only, so a crossing written later into it (an edge box that buffered while offline, a
-- replay, a backdated event) was missing from occupancy_5m until the next refresh; the hourly/daily/monthly
-- materialization (services/occupancy/rollups.py) could read that stale aggregate and keep a wrong row.
--
-- Backfill: every column follows from occupancy_events exactly as OccupancyStore.upsert_buckets merges the
-- BucketAgg values that domain._apply_one and OccupancyService.calibrate build, so the rows are the
-- ones the plain path would hold for the same events:
--   * entry_count / exit_count / event_count: crossings in / out, and all rows (calibrations count as events);
--   * close_seq: the bucket's highest seq (crossing or calibration), close_occupancy: that row's
--     occupancy_after (the upsert keeps the close of the highest close_seq);
--   * peak_occupancy: the highest of greatest(before, after) over crossings and of after over calibrations
--     (a calibration's BucketAgg has peak = the value set);
--   * log_id: the highest seq among crossings, NULL for a bucket of calibrations only (greatest() skips NULL).
-- Buckets are UTC-aligned 5 minutes (date_bin from 2000-01-01 00:00 UTC = domain.bucket_start).
-- A database whose occupancy_5m is already a table (this file replayed by hand) keeps its rows.
--
-- Hourly/daily/monthly rows that the service materialized from the aggregate may hold its stale answers, so
-- every camera with materialized rollups is marked dirty from its first bucket: reads compute those periods
-- live from the exact buckets, and the next refreshes replace the stored rows (rollups.refresh_camera).
--
-- occupancy_events gets its row-level security back (0002's policy is still defined on it): the variant
-- turned it off only because TimescaleDB refuses a continuous aggregate over a table with row security,
-- and put an org-check trigger in its place, which goes. SkipScan, which fails under row security, is off
-- for the database since 0013's variant.
--
-- This file runs as one multi-statement string, i.e. in one implicit transaction: the aggregate, its policy
-- and the new table change together, and a failure leaves the continuous aggregate in place.

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates
               WHERE view_schema = current_schema() AND view_name = 'occupancy_5m') THEN
        PERFORM remove_continuous_aggregate_policy('occupancy_5m', if_exists => true);
        DROP MATERIALIZED VIEW occupancy_5m;
    END IF;
END
$$;

CREATE TABLE IF NOT EXISTS occupancy_5m (
    org_id text NOT NULL,
    camera_id bigint NOT NULL,
    bucket timestamptz NOT NULL,
    entry_count bigint NOT NULL,
    exit_count bigint NOT NULL,
    event_count bigint NOT NULL,
    -- Occupancy after the last event of the bucket (apply order), and the highest level in it.
    close_occupancy bigint NOT NULL,
    peak_occupancy bigint NOT NULL,
    -- The seq of the bucket's last crossing (NULL when it holds only calibrations): the log row's id.
    log_id bigint,
    close_seq bigint NOT NULL,
    PRIMARY KEY (camera_id, bucket)
);

INSERT INTO occupancy_5m (org_id, camera_id, bucket, entry_count, exit_count, event_count, close_occupancy,
                          peak_occupancy, log_id, close_seq)
SELECT org_id,
       camera_id,
       date_bin(INTERVAL '5 minutes', occurred_at, TIMESTAMPTZ '2000-01-01 00:00+00'),
       count(*) FILTER (WHERE kind = 1),
       count(*) FILTER (WHERE kind = -1),
       count(*),
       (array_agg(occupancy_after ORDER BY seq DESC))[1],
       max(CASE WHEN kind = 0 THEN occupancy_after ELSE greatest(occupancy_before, occupancy_after) END),
       max(seq) FILTER (WHERE kind <> 0),
       max(seq)
FROM occupancy_events
WHERE NOT EXISTS (SELECT 1 FROM occupancy_5m)
GROUP BY 1, 2, 3;

UPDATE occupancy_state s SET rollup_dirty_from = first.bucket
FROM (SELECT camera_id, min(bucket) AS bucket FROM occupancy_5m GROUP BY camera_id) AS first
WHERE s.camera_id = first.camera_id AND s.rollup_horizon IS NOT NULL;

ALTER TABLE occupancy_5m ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON occupancy_5m;
CREATE POLICY tenant_isolation ON occupancy_5m
    USING (org_id = current_setting('footfall.org_id', true))
    WITH CHECK (org_id = current_setting('footfall.org_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON occupancy_5m TO footfall_app;

ALTER TABLE occupancy_events ENABLE ROW LEVEL SECURITY;
DROP TRIGGER IF EXISTS occupancy_events_check_org ON occupancy_events;
DROP FUNCTION IF EXISTS occupancy_events_check_org();
