-- Customers: journeys (visits through a camera's view), POS transactions and conversion, the journey
-- builder's per-camera state, the outbox of customer events, webhooks and their delivery log.
-- Every table carries org_id and is protected by row-level security like 0001 (see services/core/db.py).

-- One row per visit, inserted when the visit is confirmed (customer_entry) and completed when it is over
-- (journey_complete). `id` is the seed's INTEGER id; `session_id` the visit's stable key.
CREATE TABLE IF NOT EXISTS journeys (
    org_id text NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id text NOT NULL,
    session_id text NOT NULL,
    camera_id text NOT NULL DEFAULT '',
    entry_time timestamptz NOT NULL,
    exit_time timestamptz,
    duration double precision,
    zones jsonb NOT NULL DEFAULT '[]'::jsonb,
    zone_stays jsonb NOT NULL DEFAULT '[]'::jsonb,
    path jsonb NOT NULL DEFAULT '[]'::jsonb,
    dwell jsonb NOT NULL DEFAULT '{}'::jsonb,
    behavior text NOT NULL DEFAULT '',
    conversion text NOT NULL DEFAULT 'Pending',
    purchase_amount numeric(16, 4) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, session_id)
);
CREATE INDEX IF NOT EXISTS journeys_org_entry ON journeys (org_id, entry_time DESC, id DESC);
CREATE INDEX IF NOT EXISTS journeys_org_exit ON journeys (org_id, exit_time);
CREATE INDEX IF NOT EXISTS journeys_org_customer ON journeys (org_id, customer_id);
CREATE INDEX IF NOT EXISTS journeys_zones ON journeys USING gin (zones jsonb_path_ops);

-- Point-of-sale transactions, idempotent by (org_id, transaction_id); journey_id is the converted journey.
CREATE TABLE IF NOT EXISTS pos_transactions (
    org_id text NOT NULL,
    transaction_id text NOT NULL,
    transaction_time timestamptz NOT NULL,
    amount numeric(16, 4) NOT NULL DEFAULT 0,
    currency text NOT NULL DEFAULT '',
    till_id text NOT NULL DEFAULT '',
    zone text NOT NULL DEFAULT '',
    camera_id text NOT NULL DEFAULT '',
    items jsonb NOT NULL DEFAULT '[]'::jsonb,
    journey_id bigint REFERENCES journeys (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, transaction_id)
);
CREATE INDEX IF NOT EXISTS pos_transactions_time ON pos_transactions (org_id, transaction_time);
CREATE INDEX IF NOT EXISTS pos_transactions_unmatched ON pos_transactions (org_id, transaction_time)
    WHERE journey_id IS NULL;
CREATE INDEX IF NOT EXISTS pos_transactions_journey ON pos_transactions (journey_id) WHERE journey_id IS NOT NULL;

-- The journey builder's state per camera between event batches (open tracks, visits awaiting completion).
CREATE TABLE IF NOT EXISTS journey_builder_state (
    org_id text NOT NULL,
    camera_id text NOT NULL,
    state jsonb NOT NULL,
    stream_time double precision,
    idle boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, camera_id)
);
CREATE INDEX IF NOT EXISTS journey_builder_state_busy ON journey_builder_state (updated_at) WHERE NOT idle;

-- Outbox: customer events written in the transaction that caused them, then published to NATS and fanned
-- out to webhooks by the dispatcher.
CREATE TABLE IF NOT EXISTS customer_events (
    org_id text NOT NULL,
    event_id text NOT NULL,
    event text NOT NULL,
    body jsonb NOT NULL,
    payload bytea NOT NULL,
    occurred_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    PRIMARY KEY (org_id, event_id)
);
CREATE INDEX IF NOT EXISTS customer_events_unpublished ON customer_events (created_at) WHERE published_at IS NULL;

CREATE TABLE IF NOT EXISTS webhooks (
    org_id text NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url text NOT NULL,
    events text[] NOT NULL,
    secret text NOT NULL,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS webhooks_org ON webhooks (org_id, id);

CREATE TABLE IF NOT EXISTS webhook_deliveries (
    org_id text NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event text NOT NULL,
    event_id text NOT NULL,
    body jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    last_status_code integer NOT NULL DEFAULT 0,
    last_error text NOT NULL DEFAULT '',
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_log ON webhook_deliveries (org_id, webhook_id, id DESC);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['journeys', 'pos_transactions', 'journey_builder_state', 'customer_events',
                             'webhooks', 'webhook_deliveries']
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
