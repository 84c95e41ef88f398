-- GraphQL persisted operations: documents a city registered, addressed by their SHA-256, and the
-- city's choice to accept nothing else (locking its API down to the operations its apps use).

ALTER TABLE "cities" ADD COLUMN "persisted_operations_only" BOOLEAN NOT NULL DEFAULT false;
GRANT UPDATE ("persisted_operations_only") ON "cities" TO app_rw;

CREATE TABLE "persisted_operations" (
    "tenant_id" UUID NOT NULL,
    -- Lower-case hex SHA-256 of the document, as Apollo's persistedQuery extension sends it.
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "document" TEXT NOT NULL,
    "created_by" UUID,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "persisted_operations_pkey" PRIMARY KEY ("tenant_id", "id"),
    CONSTRAINT "persisted_operations_id_format" CHECK ("id" ~ '^[0-9a-f]{64}$'),
    CONSTRAINT "persisted_operations_name_length" CHECK (char_length("name") BETWEEN 1 AND 100),
    CONSTRAINT "persisted_operations_document_length" CHECK (char_length("document") BETWEEN 1 AND 100000)
);

ALTER TABLE "persisted_operations" ADD CONSTRAINT "persisted_operations_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "persisted_operations" ADD CONSTRAINT "persisted_operations_tenant_id_created_by_fkey"
    FOREIGN KEY ("tenant_id", "created_by") REFERENCES "users"("tenant_id", "id") ON DELETE SET NULL ("created_by") ON UPDATE CASCADE;

ALTER TABLE "persisted_operations" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "persisted_operations" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "persisted_operations"
    USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- A document never changes under its hash: registered, or removed.
GRANT SELECT, INSERT, DELETE ON "persisted_operations" TO app_rw;
GRANT SELECT, INSERT, UPDATE, DELETE ON "persisted_operations" TO app_admin;
