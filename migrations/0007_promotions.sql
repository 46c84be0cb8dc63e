-- Promotions: offers by loyalty status and zone, the zone -> products and camera -> zone mappings, in-store
-- displays and the recommendations made for identified customers (which also say who is in a zone now).
--
-- Every table carries org_id and has the tenant_isolation policy (see 0001_platform.sql).

CREATE TABLE IF NOT EXISTS promotions (
    org_id text NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title text NOT NULL CHECK (title <> ''),
    description text NOT NULL DEFAULT '',
    discount text NOT NULL DEFAULT '',
    valid_from timestamptz NOT NULL,
    valid_until timestamptz NOT NULL,
    -- 'all' or a loyalty status.
    target_loyalty_status text NOT NULL DEFAULT 'all'
        CHECK (target_loyalty_status IN ('all', 'bronze', 'silver', 'gold', 'platinum')),
    -- '' for every zone.
    zone text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_until > valid_from)
);
CREATE INDEX IF NOT EXISTS promotions_org_validity ON promotions (org_id, valid_until, valid_from);

CREATE TABLE IF NOT EXISTS promotion_zones (
    org_id text NOT NULL,
    zone text NOT NULL CHECK (zone <> ''),
    -- Product identifiers in display order.
    products text[] NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, zone)
);

-- Which zone a camera covers (one at most).
CREATE TABLE IF NOT EXISTS promotion_zone_cameras (
    org_id text NOT NULL,
    camera_id text NOT NULL,
    zone text NOT NULL,
    PRIMARY KEY (org_id, camera_id),
    FOREIGN KEY (org_id, zone) REFERENCES promotion_zones (org_id, zone) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS promotion_displays (
    org_id text NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL DEFAULT '',
    zone text NOT NULL CHECK (zone <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS promotion_displays_zone ON promotion_displays (org_id, zone);

-- One row per applied identification event; published_at is set once the action reached NATS (an outbox).
-- The newest unexpired row of a zone is the customer its displays address.
CREATE TABLE IF NOT EXISTS promotion_actions (
    org_id text NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id text NOT NULL,
    identification_event_id text NOT NULL,
    customer_id bigint NOT NULL,
    loyalty_status text NOT NULL,
    store_zone text NOT NULL,
    camera_id text NOT NULL DEFAULT '',
    confidence double precision NOT NULL,
    recommended_products text[] NOT NULL DEFAULT '{}',
    identified_at timestamptz NOT NULL,
    personal_until timestamptz NOT NULL,
    published_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, event_id)
);
CREATE INDEX IF NOT EXISTS promotion_actions_zone ON promotion_actions (org_id, store_zone, identified_at DESC);
CREATE INDEX IF NOT EXISTS promotion_actions_customer ON promotion_actions (org_id, customer_id, id DESC);
CREATE INDEX IF NOT EXISTS promotion_actions_unpublished ON promotion_actions (created_at) WHERE published_at IS NULL;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['promotions', 'promotion_zones', 'promotion_zone_cameras', 'promotion_displays',
                             'promotion_actions']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (org_id = current_setting(''footfall.org_id'', true)) '
            'WITH CHECK (org_id = current_setting(''footfall.org_id'', true))', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO footfall_app', t);
    END LOOP;
END
$$;
