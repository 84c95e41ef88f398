-- Identity and access: realms, the embedded provider's own store, API clients, web sessions.
-- See docs/decisions/006-identity-realm-per-city.md.
--
-- Two kinds of tables:
-- * identity_* and operator_sessions, instance_secrets: infrastructure of the identity layer,
--   keyed by realm (a city's or `platform`), reachable only as app_admin (RLS on, no policy).
-- * api_clients and sessions: a city's own data, under the usual tenant_isolation policy.

-- Realms -----------------------------------------------------------------------------------
-- One row per realm Civitas knows: `platform` (operators) and one per city. city_id is NULL
-- only for the platform realm. web_client_secret is the secret of the confidential web client
-- (`civitas-web`) Civitas signs residents in with, whichever provider holds the realm.
-- city_id (not tenant_id): this is platform infrastructure that points at a city, not a row
-- the city owns.
CREATE TABLE "identity_realms" (
    "realm" TEXT NOT NULL,
    "city_id" UUID,
    "web_client_secret" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "identity_realms_pkey" PRIMARY KEY ("realm"),
    CONSTRAINT "identity_realms_platform_or_city" CHECK (("realm" = 'platform') = ("city_id" IS NULL))
);
CREATE UNIQUE INDEX "identity_realms_city_id_key" ON "identity_realms"("city_id");

-- Embedded provider: one signing key set per realm, kept so restarts keep tokens valid -----
CREATE TABLE "identity_signing_keys" (
    "realm" TEXT NOT NULL,
    "kid" TEXT NOT NULL,
    "alg" TEXT NOT NULL,
    "private_jwk" JSONB NOT NULL,
    "public_jwk" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "retired_at" TIMESTAMPTZ(6),

    CONSTRAINT "identity_signing_keys_pkey" PRIMARY KEY ("realm", "kid")
);

-- Embedded provider: the realm's user accounts (Keycloak's users, for development) ----------
CREATE TABLE "identity_users" (
    "realm" TEXT NOT NULL,
    "id" UUID NOT NULL,
    "username" TEXT NOT NULL,
    "email" TEXT,
    "email_verified" BOOLEAN NOT NULL DEFAULT false,
    "first_name" TEXT,
    "last_name" TEXT,
    "locale" TEXT,
    "password_hash" TEXT,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "realm_roles" TEXT[],
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "identity_users_pkey" PRIMARY KEY ("realm", "id"),
    CONSTRAINT "identity_users_username_lowercase" CHECK ("username" = lower("username"))
);
CREATE UNIQUE INDEX "identity_users_realm_username_key" ON "identity_users"("realm", "username");

-- Embedded provider: machine clients (client credentials). The secret lives with the
-- provider, as in Keycloak; Civitas' api_clients row holds only what the city sees.
CREATE TABLE "identity_clients" (
    "realm" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "secret" TEXT NOT NULL,
    "scopes" TEXT[],
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "identity_clients_pkey" PRIMARY KEY ("realm", "client_id")
);

-- Embedded provider: oidc-provider's models (sessions, grants, codes, refresh tokens...) ----
CREATE TABLE "identity_payloads" (
    "realm" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "grant_id" TEXT,
    "uid" TEXT,
    "user_code" TEXT,
    "expires_at" TIMESTAMPTZ(6),
    "consumed_at" TIMESTAMPTZ(6),

    CONSTRAINT "identity_payloads_pkey" PRIMARY KEY ("realm", "model", "id")
);
CREATE INDEX "identity_payloads_realm_grant_id_idx" ON "identity_payloads"("realm", "grant_id");
CREATE INDEX "identity_payloads_realm_uid_idx" ON "identity_payloads"("realm", "uid");
CREATE INDEX "identity_payloads_expires_at_idx" ON "identity_payloads"("expires_at");

-- Instance-wide generated secrets (session cookie keys when none is configured) --------------
CREATE TABLE "instance_secrets" (
    "name" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "instance_secrets_pkey" PRIMARY KEY ("name")
);

-- A city's API clients (client credentials for integrations) --------------------------------
CREATE TABLE "api_clients" (
    "tenant_id" UUID NOT NULL,
    "id" UUID NOT NULL,
    "client_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "scopes" TEXT[],
    "created_by" UUID,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(6),

    CONSTRAINT "api_clients_pkey" PRIMARY KEY ("tenant_id", "id"),
    CONSTRAINT "api_clients_scopes_known" CHECK ("scopes" IS NOT NULL AND cardinality("scopes") > 0 AND "scopes" <@ ARRAY['read', 'write']::TEXT[]),
    CONSTRAINT "api_clients_name_length" CHECK (char_length("name") BETWEEN 1 AND 100)
);
CREATE UNIQUE INDEX "api_clients_tenant_id_client_id_key" ON "api_clients"("tenant_id", "client_id");

-- A resident's, staff member's or admin's signed-in browser at one city. The id is the
-- SHA-256 of the cookie's token, so a copy of this table signs nobody in.
CREATE TABLE "sessions" (
    "tenant_id" UUID NOT NULL,
    "id" TEXT NOT NULL,
    "user_id" UUID NOT NULL,
    "data" JSONB NOT NULL,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("tenant_id", "id")
);
CREATE INDEX "sessions_tenant_id_user_id_idx" ON "sessions"("tenant_id", "user_id");

-- A platform operator's signed-in browser (platform realm; not tenant data).
CREATE TABLE "operator_sessions" (
    "id" TEXT NOT NULL,
    "operator_id" UUID NOT NULL,
    "data" JSONB NOT NULL,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "operator_sessions_pkey" PRIMARY KEY ("id")
);

-- What happens outside any city (operators signing in, cities onboarded): the platform's log.
CREATE TABLE "platform_audit_events" (
    "id" UUID NOT NULL,
    "occurred_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor_type" "actor_type" NOT NULL,
    "actor_id" TEXT,
    "action" TEXT NOT NULL,
    "subject_type" TEXT NOT NULL,
    "subject_id" TEXT,
    "before" JSONB,
    "after" JSONB,
    "request_id" TEXT,

    CONSTRAINT "platform_audit_events_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "platform_audit_events_occurred_at_idx" ON "platform_audit_events"("occurred_at" DESC);

-- Foreign keys -----------------------------------------------------------------------------
ALTER TABLE "identity_realms" ADD CONSTRAINT "identity_realms_city_id_fkey"
    FOREIGN KEY ("city_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "identity_signing_keys" ADD CONSTRAINT "identity_signing_keys_realm_fkey"
    FOREIGN KEY ("realm") REFERENCES "identity_realms"("realm") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "identity_users" ADD CONSTRAINT "identity_users_realm_fkey"
    FOREIGN KEY ("realm") REFERENCES "identity_realms"("realm") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "identity_clients" ADD CONSTRAINT "identity_clients_realm_fkey"
    FOREIGN KEY ("realm") REFERENCES "identity_realms"("realm") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "identity_payloads" ADD CONSTRAINT "identity_payloads_realm_fkey"
    FOREIGN KEY ("realm") REFERENCES "identity_realms"("realm") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "api_clients" ADD CONSTRAINT "api_clients_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "api_clients" ADD CONSTRAINT "api_clients_tenant_id_created_by_fkey"
    FOREIGN KEY ("tenant_id", "created_by") REFERENCES "users"("tenant_id", "id") ON DELETE SET NULL ("created_by") ON UPDATE CASCADE;
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_tenant_id_user_id_fkey"
    FOREIGN KEY ("tenant_id", "user_id") REFERENCES "users"("tenant_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "operator_sessions" ADD CONSTRAINT "operator_sessions_operator_id_fkey"
    FOREIGN KEY ("operator_id") REFERENCES "platform_operators"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Row-level security -----------------------------------------------------------------------
ALTER TABLE "api_clients" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "api_clients" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "api_clients"
    USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE "sessions" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "sessions" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "sessions"
    USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Identity infrastructure: RLS on with no policy denies everyone but app_admin.
ALTER TABLE "identity_realms" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "identity_realms" FORCE ROW LEVEL SECURITY;
ALTER TABLE "identity_signing_keys" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "identity_signing_keys" FORCE ROW LEVEL SECURITY;
ALTER TABLE "identity_users" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "identity_users" FORCE ROW LEVEL SECURITY;
ALTER TABLE "identity_clients" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "identity_clients" FORCE ROW LEVEL SECURITY;
ALTER TABLE "identity_payloads" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "identity_payloads" FORCE ROW LEVEL SECURITY;
ALTER TABLE "instance_secrets" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "instance_secrets" FORCE ROW LEVEL SECURITY;
ALTER TABLE "platform_audit_events" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "platform_audit_events" FORCE ROW LEVEL SECURITY;
ALTER TABLE "operator_sessions" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "operator_sessions" FORCE ROW LEVEL SECURITY;

-- Privileges -------------------------------------------------------------------------------
-- An API client's name, scopes and owner are fixed at creation; request work can only revoke it.
GRANT SELECT, INSERT ON "api_clients" TO app_rw;
GRANT UPDATE ("revoked_at") ON "api_clients" TO app_rw;
GRANT SELECT, INSERT, UPDATE, DELETE ON "sessions" TO app_rw;

GRANT SELECT, INSERT, UPDATE, DELETE ON
    "identity_realms", "identity_signing_keys", "identity_users", "identity_clients",
    "identity_payloads", "instance_secrets", "api_clients", "sessions", "operator_sessions"
    TO app_admin;
-- The platform's log is append-only too.
GRANT SELECT, INSERT ON "platform_audit_events" TO app_admin;
