-- Per-day rollups of customer interactions for seed 004's analytics (segment, organisation, dashboard), so an
-- organisation with a million interactions answers from a few thousand rollup rows instead of its interactions.
--
-- * customer_interaction_days: interactions per organisation, UTC day and type;
-- * customer_segment_interaction_days: the same for the interactions of each segment's active members.
--
-- Both are kept exact by statement-level triggers on customer_interactions and customer_segments (a transition
-- table grouped into one upsert per statement), so a committed interaction, today's included, is in them at
-- once and every answer equals the direct computation over the raw rows. Counts that drop to zero stay as rows
-- (reads ignore them); the counts carry no CHECK (>= 0) because an upsert checks its proposed row, i.e. the
-- negative delta itself. Upserts run in key order, so concurrent writers take the rollup rows' locks in the same
-- order.
--
-- An interaction added while its customer joins a segment in another transaction would be missed by both
-- triggers (neither sees the other's uncommitted row). So both first lock the customers they touch (FOR NO
-- KEY UPDATE: foreign-key checks go on) and only then read the other table, with the fresh snapshot that each
-- statement of a READ COMMITTED transaction (the services' isolation) takes.
--
-- One implementation on both storage paths, deliberately no `.timescale.sql` variant: a continuous aggregate
-- cannot follow segment membership (a change in a joined table does not invalidate it), and one over
-- customer_interactions would need it as a hypertable, i.e. without its `id` primary key and without row-level
-- security (TimescaleDB refuses continuous aggregates over tables with row security).
--
-- Days are `(interaction_date AT TIME ZONE 'UTC')::date`, the days analytics report.

CREATE TABLE IF NOT EXISTS customer_interaction_days (
    org_id text NOT NULL,
    day date NOT NULL,
    interaction_type text NOT NULL,
    interaction_count bigint NOT NULL,
    PRIMARY KEY (org_id, day, interaction_type)
);

CREATE TABLE IF NOT EXISTS customer_segment_interaction_days (
    org_id text NOT NULL,
    segment_name text NOT NULL,
    day date NOT NULL,
    interaction_type text NOT NULL,
    interaction_count bigint NOT NULL,
    PRIMARY KEY (org_id, segment_name, day, interaction_type)
);

-- Interactions: +1 per new row, -1 per removed row; an update counts only when its customer, type or day changed.
CREATE OR REPLACE FUNCTION customer_interactions_roll_up() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text;
BEGIN
    changed := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT org_id, customer_id, interaction_type, interaction_date, 1 AS sign FROM new_rows'
        WHEN 'DELETE' THEN 'SELECT org_id, customer_id, interaction_type, interaction_date, -1 AS sign FROM old_rows'
        ELSE 'WITH moved AS (
                  SELECT id FROM new_rows n JOIN old_rows o USING (id)
                  WHERE (n.org_id, n.customer_id, n.interaction_type, (n.interaction_date AT TIME ZONE ''UTC'')::date)
                        IS DISTINCT FROM
                        (o.org_id, o.customer_id, o.interaction_type, (o.interaction_date AT TIME ZONE ''UTC'')::date))
              SELECT org_id, customer_id, interaction_type, interaction_date, 1 AS sign
              FROM new_rows WHERE id IN (SELECT id FROM moved)
              UNION ALL
              SELECT org_id, customer_id, interaction_type, interaction_date, -1
              FROM old_rows WHERE id IN (SELECT id FROM moved)'
    END;
    EXECUTE format(
        'SELECT 1 FROM customers WHERE id IN (SELECT customer_id FROM (%s) c) ORDER BY id FOR NO KEY UPDATE', changed);
    EXECUTE format(
        'INSERT INTO customer_interaction_days AS t (org_id, day, interaction_type, interaction_count)
         SELECT org_id, (interaction_date AT TIME ZONE ''UTC'')::date, interaction_type, sum(sign)
         FROM (%s) d GROUP BY 1, 2, 3 HAVING sum(sign) <> 0 ORDER BY 1, 2, 3
         ON CONFLICT (org_id, day, interaction_type)
         DO UPDATE SET interaction_count = t.interaction_count + EXCLUDED.interaction_count', changed);
    EXECUTE format(
        'INSERT INTO customer_segment_interaction_days AS t
             (org_id, segment_name, day, interaction_type, interaction_count)
         SELECT d.org_id, s.segment_name, (d.interaction_date AT TIME ZONE ''UTC'')::date, d.interaction_type,
                sum(d.sign)
         FROM (%s) d
         JOIN customer_segments s ON s.org_id = d.org_id AND s.customer_id = d.customer_id AND s.is_active
         GROUP BY 1, 2, 3, 4 HAVING sum(d.sign) <> 0 ORDER BY 1, 2, 3, 4
         ON CONFLICT (org_id, segment_name, day, interaction_type)
         DO UPDATE SET interaction_count = t.interaction_count + EXCLUDED.interaction_count', changed);
    RETURN NULL;
END
$$;

-- Segments: a customer joining a segment (or becoming active in it) adds their interactions to it, leaving
-- takes them away; an update counts only when its customer, name or activity changed.
CREATE OR REPLACE FUNCTION customer_segments_roll_up() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text;
BEGIN
    changed := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT org_id, customer_id, segment_name, 1 AS sign FROM new_rows WHERE is_active'
        WHEN 'DELETE' THEN 'SELECT org_id, customer_id, segment_name, -1 AS sign FROM old_rows WHERE is_active'
        ELSE 'WITH moved AS (
                  SELECT id FROM new_rows n JOIN old_rows o USING (id)
                  WHERE (n.org_id, n.customer_id, n.segment_name, n.is_active)
                        IS DISTINCT FROM (o.org_id, o.customer_id, o.segment_name, o.is_active))
              SELECT org_id, customer_id, segment_name, 1 AS sign
              FROM new_rows WHERE is_active AND id IN (SELECT id FROM moved)
              UNION ALL
              SELECT org_id, customer_id, segment_name, -1
              FROM old_rows WHERE is_active AND id IN (SELECT id FROM moved)'
    END;
    EXECUTE format(
        'SELECT 1 FROM customers WHERE id IN (SELECT customer_id FROM (%s) c) ORDER BY id FOR NO KEY UPDATE', changed);
    EXECUTE format(
        'INSERT INTO customer_segment_interaction_days AS t
             (org_id, segment_name, day, interaction_type, interaction_count)
         SELECT m.org_id, m.segment_name, (i.interaction_date AT TIME ZONE ''UTC'')::date, i.interaction_type,
                sum(m.sign)
         FROM (%s) m
         JOIN customer_interactions i ON i.org_id = m.org_id AND i.customer_id = m.customer_id
         GROUP BY 1, 2, 3, 4 HAVING sum(m.sign) <> 0 ORDER BY 1, 2, 3, 4
         ON CONFLICT (org_id, segment_name, day, interaction_type)
         DO UPDATE SET interaction_count = t.interaction_count + EXCLUDED.interaction_count', changed);
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS customer_interactions_roll_up_insert ON customer_interactions;
CREATE TRIGGER customer_interactions_roll_up_insert AFTER INSERT ON customer_interactions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION customer_interactions_roll_up();
DROP TRIGGER IF EXISTS customer_interactions_roll_up_update ON customer_interactions;
CREATE TRIGGER customer_interactions_roll_up_update AFTER UPDATE ON customer_interactions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_interactions_roll_up();
DROP TRIGGER IF EXISTS customer_interactions_roll_up_delete ON customer_interactions;
CREATE TRIGGER customer_interactions_roll_up_delete AFTER DELETE ON customer_interactions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION customer_interactions_roll_up();

DROP TRIGGER IF EXISTS customer_segments_roll_up_insert ON customer_segments;
CREATE TRIGGER customer_segments_roll_up_insert AFTER INSERT ON customer_segments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION customer_segments_roll_up();
DROP TRIGGER IF EXISTS customer_segments_roll_up_update ON customer_segments;
CREATE TRIGGER customer_segments_roll_up_update AFTER UPDATE ON customer_segments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_segments_roll_up();
DROP TRIGGER IF EXISTS customer_segments_roll_up_delete ON customer_segments;
CREATE TRIGGER customer_segments_roll_up_delete AFTER DELETE ON customer_segments
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION customer_segments_roll_up();

-- Deleting a customer cascades to both tables in one go, and a cascade's statement triggers fire only after
-- both are gone, when neither trigger can see the other table's rows any more. So the customer's segments go
-- first, by a statement of their own that still sees the interactions it takes out of the segment rollup.
CREATE OR REPLACE FUNCTION customers_leave_segments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM customer_segments WHERE org_id = OLD.org_id AND customer_id = OLD.id;
    RETURN OLD;
END
$$;
DROP TRIGGER IF EXISTS customers_leave_segments ON customers;
CREATE TRIGGER customers_leave_segments BEFORE DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION customers_leave_segments();

-- TRUNCATE fires no row or statement triggers of its own kind: empty what the truncated table fed.
CREATE OR REPLACE FUNCTION customer_rollups_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'customer_interactions' THEN
        TRUNCATE customer_interaction_days;
    END IF;
    TRUNCATE customer_segment_interaction_days;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS customer_interactions_roll_up_truncate ON customer_interactions;
CREATE TRIGGER customer_interactions_roll_up_truncate AFTER TRUNCATE ON customer_interactions
    FOR EACH STATEMENT EXECUTE FUNCTION customer_rollups_truncated();
DROP TRIGGER IF EXISTS customer_segments_roll_up_truncate ON customer_segments;
CREATE TRIGGER customer_segments_roll_up_truncate AFTER TRUNCATE ON customer_segments
    FOR EACH STATEMENT EXECUTE FUNCTION customer_rollups_truncated();

-- The interactions and memberships that existed before the triggers (the migration runs in one transaction).
TRUNCATE customer_interaction_days, customer_segment_interaction_days;
INSERT INTO customer_interaction_days (org_id, day, interaction_type, interaction_count)
SELECT org_id, (interaction_date AT TIME ZONE 'UTC')::date, interaction_type, count(*)
FROM customer_interactions GROUP BY 1, 2, 3;
INSERT INTO customer_segment_interaction_days (org_id, segment_name, day, interaction_type, interaction_count)
SELECT s.org_id, s.segment_name, (i.interaction_date AT TIME ZONE 'UTC')::date, i.interaction_type, count(*)
FROM customer_segments s
JOIN customer_interactions i ON i.org_id = s.org_id AND i.customer_id = s.customer_id
WHERE s.is_active
GROUP BY 1, 2, 3, 4;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['customer_interaction_days', 'customer_segment_interaction_days']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I '
            'USING (org_id = current_setting(''footfall.org_id'', true)) '
            'WITH CHECK (org_id = current_setting(''footfall.org_id'', true))', t);
        -- Written only through the triggers, which run as the writer of the interaction or segment.
        EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I TO footfall_app', t);
    END LOOP;
END
$$;
