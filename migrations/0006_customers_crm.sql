-- Customers CRM (seed 004 on the one customer record of the design): the people a business knows, their
-- interactions (calls, emails, meetings, tickets, complaints, feedback) and the segments they belong to.
-- Seed 002's user-service customer, seed 004's CRM customer and a seed 003 person's name/phone are the
-- `customers` row; identity links persons and face vectors to `customers.id`.
--
-- Every table carries org_id and is protected by row-level security like 0001 (see services/core/db.py).
-- Analytics group in SQL over these tables; the indexes below are the ones seed 004 names, plus the
-- org-first ones its queries need once an organisation has millions of interactions.

CREATE TABLE IF NOT EXISTS customers (
    org_id text NOT NULL,
    -- Seed 004's INTEGER id ("Customer with ID 123 not found").
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email text,
    phone text,
    loyalty_status text NOT NULL DEFAULT 'bronze'
        CHECK (loyalty_status IN ('bronze', 'silver', 'gold', 'platinum')),
    -- Keys of the same customer in other systems (POS, loyalty programme, e-shop): {"pos": "C-1001"}.
    external_ids jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS customers_org_id ON customers (org_id, id);
-- One customer per email within an organisation (case-insensitive), so identity can find a registrant again.
CREATE UNIQUE INDEX IF NOT EXISTS customers_org_email ON customers (org_id, lower(email)) WHERE email IS NOT NULL;
CREATE INDEX IF NOT EXISTS customers_external_ids ON customers USING gin (external_ids jsonb_path_ops);

CREATE TABLE IF NOT EXISTS customer_interactions (
    org_id text NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    interaction_type text NOT NULL
        CHECK (interaction_type IN ('call', 'email', 'meeting', 'support_ticket', 'complaint', 'feedback')),
    subject text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'in_progress', 'completed', 'cancelled')),
    interaction_date timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- The seed's three indexes (the first covers what the breakdowns read, so they scan the index alone)...
CREATE INDEX IF NOT EXISTS idx_customer_interaction_org_customer ON customer_interactions (org_id, customer_id)
    INCLUDE (interaction_type, status, interaction_date);
CREATE INDEX IF NOT EXISTS idx_customer_interaction_type_status ON customer_interactions (interaction_type, status);
CREATE INDEX IF NOT EXISTS idx_customer_interaction_date ON customer_interactions (interaction_date);
-- ...and the org-first ones the analytics read: one customer's newest interactions, and an org's days.
CREATE INDEX IF NOT EXISTS idx_customer_interaction_customer_date
    ON customer_interactions (customer_id, interaction_date DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_customer_interaction_org_date ON customer_interactions (org_id, interaction_date);

CREATE TABLE IF NOT EXISTS customer_segments (
    org_id text NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    segment_name text NOT NULL CHECK (length(segment_name) BETWEEN 1 AND 100),
    segment_value double precision,
    description text NOT NULL DEFAULT '',
    assigned_date timestamptz NOT NULL DEFAULT now(),
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- Assigning a segment again updates the customer's one row of it.
    CONSTRAINT customer_segments_once UNIQUE (customer_id, segment_name)
);
-- The seed's three indexes, and the org-first one segment analytics start from.
CREATE INDEX IF NOT EXISTS idx_customer_segment_org_customer ON customer_segments (org_id, customer_id);
CREATE INDEX IF NOT EXISTS idx_customer_segment_name_active ON customer_segments (segment_name, is_active);
CREATE INDEX IF NOT EXISTS idx_customer_segment_assigned_date ON customer_segments (assigned_date);
CREATE INDEX IF NOT EXISTS idx_customer_segment_org_name ON customer_segments (org_id, segment_name, customer_id)
    WHERE is_active;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['customers', 'customer_interactions', 'customer_segments']
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
