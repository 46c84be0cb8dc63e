-- Identity: persons (anyone seen), the camera tracks that became them, consents, the face vectors stored
-- under those consents (mirroring the vector store's points, so erasure and retention know what to remove),
-- and each organisation's face policy. Customers themselves are records of the customers service
-- (`customers.id`); identity only holds their ids. Face images live in the data directory
-- (`<data_dir>/faces/<org>/...`), named by the rows that own them, never in PostgreSQL.
--
-- Every table carries org_id and has the tenant_isolation policy (see 0001_platform.sql).

CREATE TABLE IF NOT EXISTS identity_persons (
    id uuid PRIMARY KEY,
    org_id text NOT NULL,
    -- The customers service's customer this person is; NULL while unknown.
    customer_id bigint,
    -- `camera` (a face crop from vision), `track` (seed 002 /track), `client` (seed 003 POST), `register`.
    source text NOT NULL CHECK (source IN ('camera', 'track', 'client', 'register')),
    first_seen_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    -- Camera keys in the order first seen there.
    cameras text[] NOT NULL DEFAULT '{}',
    -- [{"t": epoch seconds, "c": camera key, "x": .., "y": ..}], oldest first, at most 200 (the service trims).
    positions jsonb NOT NULL DEFAULT '[]'::jsonb,
    -- The best face crop's file under <data_dir>/faces/<org>/ and its quality score; NULL without one.
    image_path text,
    image_quality double precision,
    age integer CHECK (age IS NULL OR age BETWEEN 0 AND 150),
    age_confidence double precision NOT NULL DEFAULT 0,
    gender text NOT NULL DEFAULT '',
    gender_confidence double precision NOT NULL DEFAULT 0,
    emotion text NOT NULL DEFAULT '',
    emotion_confidence double precision NOT NULL DEFAULT 0,
    body_type text NOT NULL DEFAULT '',
    entry_time timestamptz,
    exit_time timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS identity_persons_org_created ON identity_persons (org_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS identity_persons_org_customer ON identity_persons (org_id, customer_id)
    WHERE customer_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS identity_persons_unknown_seen ON identity_persons (last_seen_at)
    WHERE customer_id IS NULL;

-- One camera track (vision's track id on one camera key) and the person it became.
CREATE TABLE IF NOT EXISTS identity_tracks (
    org_id text NOT NULL,
    camera_key text NOT NULL,
    track_id text NOT NULL,
    person_id uuid NOT NULL REFERENCES identity_persons (id) ON DELETE CASCADE,
    -- Quality of the crop last embedded for this track (re-embedding needs a clearly better one).
    embedded_quality double precision,
    embedded_sharpness double precision,
    embedded_size double precision,
    embedded_frontal double precision,
    first_seen_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, camera_key, track_id)
);
CREATE INDEX IF NOT EXISTS identity_tracks_person ON identity_tracks (person_id);

-- Who allowed a face to be stored, when, how and for what.
CREATE TABLE IF NOT EXISTS identity_consents (
    id uuid PRIMARY KEY,
    org_id text NOT NULL,
    customer_id bigint,
    given_by text NOT NULL,
    -- e.g. kiosk, written_form, app, credential_attestation, org_policy
    method text NOT NULL,
    purpose text NOT NULL,
    given_at timestamptz NOT NULL,
    -- The credential that recorded it (`user:alice`, `api_key:12`, `service:gateway`).
    recorded_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS identity_consents_customer ON identity_consents (org_id, customer_id);

-- One point of the vector store (same UUID); the vector itself lives only there.
CREATE TABLE IF NOT EXISTS identity_face_vectors (
    id uuid PRIMARY KEY,
    org_id text NOT NULL,
    person_id uuid REFERENCES identity_persons (id) ON DELETE SET NULL,
    customer_id bigint,
    -- NULL for unknown faces (kept at most FOOTFALL_UNKNOWN_FACE_RETENTION); enrolled faces always have one.
    consent_id uuid REFERENCES identity_consents (id) ON DELETE RESTRICT,
    -- The enrolled face crop's file under <data_dir>/faces/<org>/, when one was kept.
    image_path text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT identity_face_vectors_enrolled_consent CHECK (customer_id IS NULL OR consent_id IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS identity_face_vectors_customer ON identity_face_vectors (org_id, customer_id, created_at DESC)
    WHERE customer_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS identity_face_vectors_person ON identity_face_vectors (person_id);
CREATE INDEX IF NOT EXISTS identity_face_vectors_unknown ON identity_face_vectors (created_at)
    WHERE customer_id IS NULL;

-- Each organisation's rules for faces; no row means the defaults (auto-registration off).
CREATE TABLE IF NOT EXISTS identity_policies (
    org_id text PRIMARY KEY,
    auto_register boolean NOT NULL DEFAULT false,
    auto_register_purpose text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL DEFAULT ''
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['identity_persons', 'identity_tracks', 'identity_consents', 'identity_face_vectors',
                             'identity_policies']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I '
            'USING (org_id = current_setting(''footfall.org_id'', true)) '
            'WITH CHECK (org_id = current_setting(''footfall.org_id'', true))', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO footfall_app', t);
    END LOOP;
END
$$;
