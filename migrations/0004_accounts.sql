-- Accounts: organisations, users and their roles, API keys, revoked access tokens and the audit log.
-- Per-org tables are protected by row-level security like 0001 (see services/core/db.py). Lookups by
-- credential happen before the organisation is known and run outside it (Database.system()).

CREATE TABLE IF NOT EXISTS orgs (
    id text PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A person who logs in; usernames and emails are unique across the platform (login does not name an org).
CREATE TABLE IF NOT EXISTS users (
    id uuid PRIMARY KEY,
    username text NOT NULL UNIQUE,
    email text NOT NULL DEFAULT '',
    full_name text NOT NULL DEFAULT '',
    password_hash text NOT NULL,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_login timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS users_email ON users (lower(email)) WHERE email <> '';

-- A user's role in one organisation; org_id is NULL exactly for platform_admin (every organisation).
CREATE TABLE IF NOT EXISTS memberships (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id text REFERENCES orgs (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('platform_admin', 'org_admin', 'analyst', 'device')),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'platform_admin') = (org_id IS NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS memberships_user_org ON memberships (user_id, coalesce(org_id, ''));
CREATE INDEX IF NOT EXISTS memberships_org ON memberships (org_id);

-- Keys for devices and integrations: one org, one role; only a SHA-256 of the (high-entropy) key is kept.
CREATE TABLE IF NOT EXISTS api_keys (
    id text PRIMARY KEY,
    org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('org_admin', 'analyst', 'device')),
    name text NOT NULL DEFAULT '',
    prefix text NOT NULL,
    key_hash text NOT NULL UNIQUE,
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS api_keys_org ON api_keys (org_id, created_at DESC);

-- Access tokens revoked before they expire (logout); rows past expires_at can be pruned.
CREATE TABLE IF NOT EXISTS revoked_tokens (
    jti text PRIMARY KEY,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS revoked_tokens_expiry ON revoked_tokens (expires_at);

-- Who did what, when, from where. org_id '' holds platform-wide entries (a failed login by an unknown name).
CREATE TABLE IF NOT EXISTS audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id text NOT NULL DEFAULT '',
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL DEFAULT '',
    action text NOT NULL,
    target text NOT NULL DEFAULT '',
    detail jsonb NOT NULL DEFAULT '{}'::jsonb,
    ip text NOT NULL DEFAULT '',
    outcome text NOT NULL DEFAULT 'success'
);
CREATE INDEX IF NOT EXISTS audit_log_org_at ON audit_log (org_id, id DESC);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['api_keys', 'audit_log']
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

-- The organisation row itself: a tenant transaction sees only its own.
ALTER TABLE orgs ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON orgs;
CREATE POLICY tenant_isolation ON orgs USING (id = current_setting('footfall.org_id', true));
GRANT SELECT ON orgs TO footfall_app;

-- Memberships of the organisation (platform admins, org_id NULL, are invisible inside a tenant).
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON memberships;
CREATE POLICY tenant_isolation ON memberships
    USING (org_id = current_setting('footfall.org_id', true))
    WITH CHECK (org_id = current_setting('footfall.org_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON memberships TO footfall_app;

-- A tenant sees (and changes) only users with a role in it. A new user becomes visible once its
-- membership is inserted in the same transaction.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_members ON users;
CREATE POLICY tenant_members ON users FOR SELECT USING (
    EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id
            AND m.org_id = current_setting('footfall.org_id', true)));
DROP POLICY IF EXISTS tenant_members_insert ON users;
CREATE POLICY tenant_members_insert ON users FOR INSERT WITH CHECK (true);
DROP POLICY IF EXISTS tenant_members_update ON users;
CREATE POLICY tenant_members_update ON users FOR UPDATE USING (
    EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id
            AND m.org_id = current_setting('footfall.org_id', true)));
GRANT SELECT, INSERT, UPDATE ON users TO footfall_app;
