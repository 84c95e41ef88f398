-- City administration: invitations to join a city as staff or admin (the admin console, the
-- GraphQL API and onboarding, whose first admin is invited this way).
--
-- An invitation is a city's own data, under the usual tenant_isolation policy. Its token is
-- shown once, to whoever creates it; only its SHA-256 is kept, so a copy of this table lets
-- nobody in (as with sessions). Accepting it needs a signed-in person of the same city: the
-- token is the proof, the invitee's email address is only who it was meant for.

-- Invitations ------------------------------------------------------------------------------
-- invited_by_type / invited_by: the actor that created it, as audit_events records actors (a
-- user's id, an operator's id for onboarding), so it stays readable after that person leaves.
-- accepted_by is the users row of whoever accepted it; accepted_at and revoked_at end it.
CREATE TABLE "invitations" (
    "tenant_id" UUID NOT NULL,
    "id" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "role" "member_role" NOT NULL,
    "token_hash" TEXT NOT NULL,
    "invited_by_type" "actor_type" NOT NULL,
    "invited_by" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(6) NOT NULL DEFAULT (CURRENT_TIMESTAMP + '14 days'::interval),
    "accepted_at" TIMESTAMPTZ(6),
    "accepted_by" UUID,
    "revoked_at" TIMESTAMPTZ(6),

    CONSTRAINT "invitations_pkey" PRIMARY KEY ("tenant_id", "id"),
    -- Everyone is a resident already: an invitation brings staff or admin.
    CONSTRAINT "invitations_role_staff_or_admin" CHECK ("role" IN ('staff', 'admin')),
    -- Addresses compare without case; the service stores them lower-cased.
    CONSTRAINT "invitations_email_lowercase" CHECK ("email" = lower("email") AND char_length("email") BETWEEN 3 AND 254),
    CONSTRAINT "invitations_token_hash_sha256" CHECK ("token_hash" ~ '^[0-9a-f]{64}$'),
    CONSTRAINT "invitations_expires_after_creation" CHECK ("expires_at" > "created_at"),
    -- accepted_by may become NULL later (the person was removed), never set without accepted_at.
    CONSTRAINT "invitations_accepted_by_accepted" CHECK ("accepted_by" IS NULL OR "accepted_at" IS NOT NULL),
    CONSTRAINT "invitations_accepted_or_revoked" CHECK ("accepted_at" IS NULL OR "revoked_at" IS NULL)
);
-- The token's lookup; unique per city (tenant_id leading, as every key of a tenant table).
CREATE UNIQUE INDEX "invitations_tenant_id_token_hash_key" ON "invitations"("tenant_id", "token_hash");
-- The admin console lists a city's invitations newest first.
CREATE INDEX "invitations_tenant_id_created_at_idx" ON "invitations"("tenant_id", "created_at" DESC);

-- Foreign keys -----------------------------------------------------------------------------
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_tenant_id_accepted_by_fkey"
    FOREIGN KEY ("tenant_id", "accepted_by") REFERENCES "users"("tenant_id", "id") ON DELETE SET NULL ("accepted_by") ON UPDATE CASCADE;

-- Row-level security -----------------------------------------------------------------------
ALTER TABLE "invitations" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "invitations" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "invitations"
    USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Privileges -------------------------------------------------------------------------------
-- An invitation's address, role, token and author are fixed at creation; request work can only
-- accept or revoke it. Nothing deletes one: they are the history of who joined how.
GRANT SELECT, INSERT ON "invitations" TO app_rw;
GRANT UPDATE ("accepted_at", "accepted_by", "revoked_at") ON "invitations" TO app_rw;

GRANT SELECT, INSERT, UPDATE, DELETE ON "invitations" TO app_admin;
