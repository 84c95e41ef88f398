-- City logos uploaded in the admin console: the image itself, one per city, served by the city's
-- site at /{slug}/branding/logo (the branding column's logoUrl points there, with the image's
-- hash so that browsers may cache each version for good).
--
-- The bytes are the city's own data, under the usual tenant_isolation policy. Only PNG, JPEG and
-- WebP are accepted (checked from the bytes, not the declared type); the type stored is the one
-- the bytes showed, and pages serve it with nosniff.
CREATE TABLE "city_logos" (
    "tenant_id" UUID NOT NULL,
    "content_type" TEXT NOT NULL,
    "bytes" BYTEA NOT NULL,
    -- Lower-case hex SHA-256 of the bytes: the version in the logo's address, and its ETag.
    "sha256" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "city_logos_pkey" PRIMARY KEY ("tenant_id"),
    CONSTRAINT "city_logos_content_type" CHECK ("content_type" IN ('image/png', 'image/jpeg', 'image/webp')),
    -- The console refuses more than 512 KiB; the table, anything beyond 1 MiB.
    CONSTRAINT "city_logos_size" CHECK (octet_length("bytes") BETWEEN 1 AND 1048576),
    CONSTRAINT "city_logos_sha256" CHECK ("sha256" ~ '^[0-9a-f]{64}$')
);

ALTER TABLE "city_logos" ADD CONSTRAINT "city_logos_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "city_logos" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "city_logos" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "city_logos"
    USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Admins replace and remove their city's logo; the site reads it.
GRANT SELECT, INSERT, UPDATE, DELETE ON "city_logos" TO app_rw;
GRANT SELECT, INSERT, UPDATE, DELETE ON "city_logos" TO app_admin;
