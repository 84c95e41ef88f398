-- Civitas v1: cities as tenants, identities, memberships, plugin installations, audit.
-- Hand-written (see docs/decisions/002-migrations-without-the-prisma-engine.md); names follow
-- Prisma's conventions so that `prisma migrate diff` agrees on a machine that can run it.

-- Roles ------------------------------------------------------------------------------------
-- app_rw: every request's unit of work (no BYPASSRLS). app_admin: platform operations only.
-- Both are NOLOGIN: the login that the app uses is granted them and switches per transaction.
-- Roles are cluster-wide, so creating them tolerates another database having done it first.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_rw') THEN
    BEGIN
      CREATE ROLE app_rw NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_admin') THEN
    BEGIN
      CREATE ROLE app_admin NOLOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
END
$$;

GRANT app_rw TO CURRENT_USER;
GRANT app_admin TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO app_rw, app_admin;

-- Types ------------------------------------------------------------------------------------
CREATE TYPE "city_status" AS ENUM ('active', 'suspended');
CREATE TYPE "member_role" AS ENUM ('resident', 'staff', 'admin');
CREATE TYPE "actor_type" AS ENUM ('user', 'operator', 'client', 'system');

-- Tables -----------------------------------------------------------------------------------
CREATE TABLE "cities" (
    "id" UUID NOT NULL,
    "slug" TEXT NOT NULL,
    "names" JSONB NOT NULL,
    "status" "city_status" NOT NULL DEFAULT 'active',
    "default_locale" TEXT NOT NULL,
    "enabled_locales" TEXT[],
    "time_zone" TEXT NOT NULL,
    "branding" JSONB NOT NULL DEFAULT '{}',
    "identity_realm" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "cities_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "cities_slug_format" CHECK ("slug" ~ '^[a-z][a-z0-9-]{1,62}$'),
    -- Prisma declares scalar lists without NOT NULL; the checks keep the column meaningful.
    CONSTRAINT "cities_enabled_locales_present" CHECK ("enabled_locales" IS NOT NULL AND cardinality("enabled_locales") > 0),
    CONSTRAINT "cities_default_locale_enabled" CHECK ("default_locale" = ANY ("enabled_locales"))
);
CREATE UNIQUE INDEX "cities_slug_key" ON "cities"("slug");
CREATE UNIQUE INDEX "cities_identity_realm_key" ON "cities"("identity_realm");

CREATE TABLE "city_domains" (
    "tenant_id" UUID NOT NULL,
    "hostname" TEXT NOT NULL,
    "is_primary" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "city_domains_pkey" PRIMARY KEY ("tenant_id", "hostname"),
    CONSTRAINT "city_domains_hostname_lowercase" CHECK ("hostname" = lower("hostname"))
);
-- A hostname routes to exactly one city, instance-wide (the one index not led by tenant_id;
-- under Citus this table becomes a reference table, see ADR 001).
CREATE UNIQUE INDEX "city_domains_hostname_key" ON "city_domains"("hostname");

CREATE TABLE "users" (
    "tenant_id" UUID NOT NULL,
    "id" UUID NOT NULL,
    "realm" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "email" TEXT,
    "display_name" TEXT,
    "locale" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "users_pkey" PRIMARY KEY ("tenant_id", "id")
);
CREATE UNIQUE INDEX "users_tenant_id_realm_subject_key" ON "users"("tenant_id", "realm", "subject");

CREATE TABLE "memberships" (
    "tenant_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "role" "member_role" NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "memberships_pkey" PRIMARY KEY ("tenant_id", "user_id", "role")
);

CREATE TABLE "platform_operators" (
    "id" UUID NOT NULL,
    "subject" TEXT NOT NULL,
    "email" TEXT,
    "display_name" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "platform_operators_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "platform_operators_subject_key" ON "platform_operators"("subject");

CREATE TABLE "plugin_installations" (
    "tenant_id" UUID NOT NULL,
    "plugin_id" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "settings" JSONB NOT NULL DEFAULT '{}',
    "installed_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "plugin_installations_pkey" PRIMARY KEY ("tenant_id", "plugin_id")
);

CREATE TABLE "audit_events" (
    "tenant_id" UUID NOT NULL,
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

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("tenant_id", "id")
);
CREATE INDEX "audit_events_tenant_id_occurred_at_idx" ON "audit_events"("tenant_id", "occurred_at" DESC);

-- Foreign keys (composite, tenant_id first, so a row can only point inside its own city) ----
ALTER TABLE "city_domains" ADD CONSTRAINT "city_domains_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "users" ADD CONSTRAINT "users_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_tenant_id_user_id_fkey"
    FOREIGN KEY ("tenant_id", "user_id") REFERENCES "users"("tenant_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "plugin_installations" ADD CONSTRAINT "plugin_installations_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Row-level security: one policy per table, no OR-bypass, forced for the owner too ----------
ALTER TABLE "cities" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "cities" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "cities"
    USING ("id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK ("id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE "city_domains" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "city_domains" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "city_domains"
    USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE "users" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "users" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "users"
    USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE "memberships" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "memberships" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "memberships"
    USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE "plugin_installations" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "plugin_installations" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "plugin_installations"
    USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE "audit_events" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "audit_events" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "audit_events"
    USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Operators are not tenant data: RLS on with no policy denies everyone but app_admin.
ALTER TABLE "platform_operators" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "platform_operators" FORCE ROW LEVEL SECURITY;

-- Privileges -------------------------------------------------------------------------------
-- City admins edit their city's settings; identity (slug, realm), status and existence are
-- platform operations, so request work may update only the settings columns.
GRANT SELECT ON "cities" TO app_rw;
GRANT UPDATE ("names", "default_locale", "enabled_locales", "time_zone", "branding", "updated_at") ON "cities" TO app_rw;
GRANT SELECT ON "city_domains" TO app_rw;
GRANT SELECT, INSERT, UPDATE, DELETE ON "users", "memberships", "plugin_installations" TO app_rw;
-- The audit log is append-only for request work.
GRANT SELECT, INSERT ON "audit_events" TO app_rw;

GRANT SELECT, INSERT, UPDATE, DELETE ON
    "cities", "city_domains", "users", "memberships", "platform_operators",
    "plugin_installations", "audit_events"
    TO app_admin;
