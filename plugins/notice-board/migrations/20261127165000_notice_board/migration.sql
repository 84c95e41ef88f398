-- Notice board (plugin "notice-board"): short notices a city's staff post on its portal, with a
-- title and body per language and an optional end date. The table exists for every city; a
-- city sees it only when it runs the plugin (ARCHITECTURE §4).
CREATE TABLE "notice_board_notices" (
    "tenant_id" UUID NOT NULL,
    "id" UUID NOT NULL,
    -- { "fr": "…", "en": "…" }: at least one language (the service checks the city's).
    "title" JSONB NOT NULL,
    "body" JSONB NOT NULL,
    "author_id" TEXT,
    "published_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(6),
    "withdrawn_at" TIMESTAMPTZ(6),

    CONSTRAINT "notice_board_notices_pkey" PRIMARY KEY ("tenant_id", "id"),
    CONSTRAINT "notice_board_notices_title_object" CHECK (jsonb_typeof("title") = 'object' AND "title" <> '{}'::jsonb),
    CONSTRAINT "notice_board_notices_body_object" CHECK (jsonb_typeof("body") = 'object'),
    CONSTRAINT "notice_board_notices_expires_after_publication" CHECK ("expires_at" IS NULL OR "expires_at" > "published_at")
);
-- The portal lists a city's current notices newest first.
CREATE INDEX "notice_board_notices_tenant_id_published_at_idx" ON "notice_board_notices"("tenant_id", "published_at" DESC);

ALTER TABLE "notice_board_notices" ADD CONSTRAINT "notice_board_notices_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "notice_board_notices" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "notice_board_notices" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "notice_board_notices"
    USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Staff post and withdraw notices; a purge (uninstall with data) deletes a city's rows.
GRANT SELECT, INSERT, DELETE ON "notice_board_notices" TO app_rw;
GRANT UPDATE ("withdrawn_at") ON "notice_board_notices" TO app_rw;
GRANT SELECT, INSERT, UPDATE, DELETE ON "notice_board_notices" TO app_admin;
