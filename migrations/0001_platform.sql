-- The role tenant transactions run as (see services/core/db.py): row-level security applies to it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'footfall_app') THEN
        CREATE ROLE footfall_app NOLOGIN;
    END IF;
END
$$;
GRANT footfall_app TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO footfall_app;

-- Events each consumer has applied: a redelivered event finds its id here and changes nothing.
CREATE TABLE IF NOT EXISTS processed_events (
    consumer text NOT NULL,
    org_id text NOT NULL,
    event_id text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, org_id, event_id)
);
CREATE INDEX IF NOT EXISTS processed_events_at ON processed_events (processed_at);
ALTER TABLE processed_events ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON processed_events;
CREATE POLICY tenant_isolation ON processed_events
    USING (org_id = current_setting('footfall.org_id', true))
    WITH CHECK (org_id = current_setting('footfall.org_id', true));
GRANT SELECT, INSERT, DELETE ON processed_events TO footfall_app;
