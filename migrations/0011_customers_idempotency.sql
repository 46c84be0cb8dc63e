-- Customers consumers idempotent by the database: a replayed vision stream (a redelivery, or JetStream
-- delivering from the start after a consumer was recreated) rebuilds the same visits, and these keys make
-- storing them again a no-op.
--
-- A journey's natural key is (organisation, camera, first track key): track keys are unique per camera
-- session, and the online session_id is derived from them (journeys.natural_ids), so the existing
-- UNIQUE (org_id, session_id) and this index agree. Rows from before this migration have no track_key.
-- Customer events stay keyed by (org_id, event_id) with ids derived from the session id, and webhook
-- deliveries by (webhook_id, event_id) (0003): an event replayed is neither published nor delivered twice.
ALTER TABLE journeys ADD COLUMN IF NOT EXISTS track_key text;
CREATE UNIQUE INDEX IF NOT EXISTS journeys_natural_key ON journeys (org_id, camera_id, track_key)
    WHERE track_key IS NOT NULL;
