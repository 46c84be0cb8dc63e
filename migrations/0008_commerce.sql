-- Commerce (seed 003): the products a store sells, carts at tables for a person (identity's opaque id) or a
-- customer (0006's record), and the products put in them. A cart with products is an order; checking a cart
-- out records its point-of-sale transaction (0003's pos_transactions) and keeps its id on the cart. Visits
-- are 0003's journeys (a person's journeys carry the person id in `customer_id`).
--
-- Ids are UUIDs, as seed 003's are. Every table carries org_id and is protected by row-level security like
-- 0001 (see services/core/db.py).

CREATE TABLE IF NOT EXISTS products (
    org_id text NOT NULL,
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    category text NOT NULL DEFAULT '' CHECK (length(category) <= 100),
    price numeric(12, 2) CHECK (price >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS products_org_name ON products (org_id, name, id);

CREATE TABLE IF NOT EXISTS carts (
    org_id text NOT NULL,
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    person_id text CHECK (length(person_id) BETWEEN 1 AND 64),
    -- Erasing a customer erases their carts.
    customer_id bigint REFERENCES customers (id) ON DELETE CASCADE,
    table_number integer CHECK (table_number >= 0),
    transaction_id text,
    checked_out_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT carts_have_someone CHECK (person_id IS NOT NULL OR customer_id IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS carts_org_person ON carts (org_id, person_id, created_at DESC, id DESC)
    WHERE person_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS carts_org_customer ON carts (org_id, customer_id) WHERE customer_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS cart_products (
    org_id text NOT NULL,
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- The order products were added in (rows added in one transaction share created_at).
    seq bigint GENERATED ALWAYS AS IDENTITY,
    cart_id uuid NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    -- A product that was ordered is kept (its orders name it).
    product_id uuid NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    quantity integer NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 1 AND 10000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS cart_products_cart ON cart_products (cart_id, seq);
CREATE INDEX IF NOT EXISTS cart_products_org_product ON cart_products (org_id, product_id);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['products', 'carts', 'cart_products']
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
