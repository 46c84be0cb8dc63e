-- Vision: camera streams are configuration. A row is a stream someone asked for (StartStream, the demo feed):
-- its source, counting lines, zones and options, the desired state. Every vision worker restarts the stored
-- streams on boot; with several workers, one takes each camera through a lease in NATS key-value and writes
-- the actual state here (running / reconnecting / failed with its reason, and which worker owns it).
-- StopStream deletes the row.
--
-- The table carries org_id and the tenant_isolation policy (see 0001_platform.sql); workers list every
-- organisation's streams through a system connection.

CREATE TABLE IF NOT EXISTS vision_streams (
    org_id text NOT NULL,
    -- The NATS subject prefix the stream publishes under (FOOTFALL_NATS_SUBJECT_PREFIX): deployments that share a
    -- database but not an event namespace never run each other's streams.
    namespace text NOT NULL DEFAULT 'footfall',
    -- The camera's external key (e.g. GATE_A), as StartStream names it.
    camera_key text NOT NULL CHECK (length(camera_key) BETWEEN 1 AND 128),
    source_kind text NOT NULL CHECK (source_kind IN ('url', 'path', 'device')),
    -- The source as the caller gave it (a URL, a path under the media roots, a device index).
    source_target text NOT NULL,
    -- A platform-owned source (the demo feed): not re-checked against the caller's source policy.
    trusted boolean NOT NULL DEFAULT false,
    -- Explicit counting lines ([] means: the occupancy service's lines for this camera) and zones, as JSON.
    lines jsonb NOT NULL DEFAULT '[]',
    zones jsonb NOT NULL DEFAULT '[]',
    -- max_fps, loop, realtime, max_frames, max_reconnect_attempts, face_crops, blur_faces.
    options jsonb NOT NULL DEFAULT '{}',
    -- Names the stream; each run (a restart, a takeover) publishes under session_id + '-' + generation.
    session_id text NOT NULL,
    generation integer NOT NULL DEFAULT 0,
    -- The actual state: connecting, connected, reconnecting, failed, stopped, or 'unowned' (waiting for a worker).
    state text NOT NULL DEFAULT 'unowned',
    state_detail text NOT NULL DEFAULT '',
    -- The worker running it, empty when none.
    owner text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, namespace, camera_key)
);

DO $$
BEGIN
    ALTER TABLE vision_streams ENABLE ROW LEVEL SECURITY;
    DROP POLICY IF EXISTS tenant_isolation ON vision_streams;
    CREATE POLICY tenant_isolation ON vision_streams
        USING (org_id = current_setting('footfall.org_id', true))
        WITH CHECK (org_id = current_setting('footfall.org_id', true));
    GRANT SELECT, INSERT, UPDATE, DELETE ON vision_streams TO footfall_app;
END
$$;
