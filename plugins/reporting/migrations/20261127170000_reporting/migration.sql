-- Reporting (plugin "reporting"): categories of issues residents can report, the reports
-- themselves (Open311 GeoReport v2 service requests, whichever way they come in), their history,
-- followers, photos, and the outbox of the emails that keep reporters and followers informed.
--
-- Every table is a city's own data under the usual tenant_isolation policy, tenant_id leading
-- every key. The tables exist for every city; whether a city runs the plugin is
-- plugin_installations' business. The plugin's purge hook deletes a city's rows in its unit of
-- work, hence DELETE on the tables it must empty (history goes with its request by cascade).

-- Types ------------------------------------------------------------------------------------
CREATE TYPE "reporting_request_status" AS ENUM ('open', 'acknowledged', 'in_progress', 'closed');
CREATE TYPE "reporting_event_kind" AS ENUM ('created', 'status_changed', 'assigned', 'internal_note', 'public_update', 'merged', 'photo_added');
CREATE TYPE "reporting_outbox_status" AS ENUM ('pending', 'sent', 'failed');

-- Categories ---------------------------------------------------------------------------------
-- names, descriptions, group_names: per locale ({ "fr": "…", "en": "…" }). attributes: the
-- custom fields of the category (Open311 service definition), validated by the service.
CREATE TABLE "reporting_categories" (
    "tenant_id" UUID NOT NULL,
    "id" UUID NOT NULL,
    "code" TEXT NOT NULL,
    "names" JSONB NOT NULL,
    "descriptions" JSONB NOT NULL DEFAULT '{}',
    "group_names" JSONB NOT NULL DEFAULT '{}',
    "keywords" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "attributes" JSONB NOT NULL DEFAULT '[]',
    "position" INTEGER NOT NULL DEFAULT 0,
    "archived_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reporting_categories_pkey" PRIMARY KEY ("tenant_id", "id"),
    -- Open311 service_code: goes into URLs and forms as is.
    CONSTRAINT "reporting_categories_code_format" CHECK ("code" ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    CONSTRAINT "reporting_categories_names_object" CHECK (jsonb_typeof("names") = 'object'),
    CONSTRAINT "reporting_categories_attributes_array" CHECK (jsonb_typeof("attributes") = 'array'),
    -- Prisma declares scalar lists without NOT NULL; the check keeps the column meaningful.
    CONSTRAINT "reporting_categories_keywords_present" CHECK ("keywords" IS NOT NULL)
);
CREATE UNIQUE INDEX "reporting_categories_tenant_id_code_key" ON "reporting_categories"("tenant_id", "code");

-- Requests ---------------------------------------------------------------------------------
-- tracking_id: what the reporter gets and Open311 calls service_request_id; random, so that
-- ids tell nothing about the city's volume and cannot be walked.
-- merged_into_id: a duplicate points at the request it was merged into (and is closed).
CREATE TABLE "reporting_requests" (
    "tenant_id" UUID NOT NULL,
    "id" UUID NOT NULL,
    "tracking_id" TEXT NOT NULL,
    "category_id" UUID NOT NULL,
    "status" "reporting_request_status" NOT NULL DEFAULT 'open',
    "close_reason" TEXT,
    "description" TEXT NOT NULL,
    "latitude" DOUBLE PRECISION,
    "longitude" DOUBLE PRECISION,
    "address" TEXT,
    "attribute_values" JSONB NOT NULL DEFAULT '{}',
    "media_url" TEXT,
    "source" TEXT NOT NULL,
    "locale" TEXT NOT NULL,
    "reporter_user_id" UUID,
    "reporter_email" TEXT,
    "reporter_first_name" TEXT,
    "reporter_last_name" TEXT,
    "reporter_phone" TEXT,
    "assignee_user_id" UUID,
    "merged_into_id" UUID,
    "expected_at" TIMESTAMPTZ(6),
    "acknowledged_at" TIMESTAMPTZ(6),
    "closed_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reporting_requests_pkey" PRIMARY KEY ("tenant_id", "id"),
    CONSTRAINT "reporting_requests_tracking_id_format" CHECK ("tracking_id" ~ '^[0-9A-Z]{4}-[0-9A-Z]{4}$'),
    CONSTRAINT "reporting_requests_description_length" CHECK (char_length("description") BETWEEN 1 AND 4000),
    -- A place: coordinates (both, in range) or an address.
    CONSTRAINT "reporting_requests_coordinates_pair" CHECK (("latitude" IS NULL) = ("longitude" IS NULL)),
    CONSTRAINT "reporting_requests_coordinates_range" CHECK ("latitude" IS NULL OR ("latitude" BETWEEN -90 AND 90 AND "longitude" BETWEEN -180 AND 180)),
    CONSTRAINT "reporting_requests_located" CHECK ("latitude" IS NOT NULL OR "address" IS NOT NULL),
    CONSTRAINT "reporting_requests_media_url_http" CHECK ("media_url" IS NULL OR "media_url" ~ '^https?://'),
    CONSTRAINT "reporting_requests_source_known" CHECK ("source" IN ('graphql', 'portal', 'open311')),
    CONSTRAINT "reporting_requests_email_lowercase" CHECK ("reporter_email" IS NULL OR "reporter_email" = lower("reporter_email")),
    CONSTRAINT "reporting_requests_closed_at_closed" CHECK (("status" = 'closed') = ("closed_at" IS NOT NULL)),
    CONSTRAINT "reporting_requests_merged_closed" CHECK ("merged_into_id" IS NULL OR ("status" = 'closed' AND "merged_into_id" <> "id"))
);
CREATE UNIQUE INDEX "reporting_requests_tenant_id_tracking_id_key" ON "reporting_requests"("tenant_id", "tracking_id");
-- Staff lists and Open311's GET: newest first within a city.
CREATE INDEX "reporting_requests_tenant_id_created_at_idx" ON "reporting_requests"("tenant_id", "created_at" DESC);
-- Duplicate lookups (same category, open) and KPIs by category and status.
CREATE INDEX "reporting_requests_tenant_id_category_id_status_idx" ON "reporting_requests"("tenant_id", "category_id", "status");

-- History ----------------------------------------------------------------------------------
-- Append-only for request work: what happened is never rewritten. actor_type / actor_id as
-- audit_events records actors.
CREATE TABLE "reporting_events" (
    "tenant_id" UUID NOT NULL,
    "id" UUID NOT NULL,
    "request_id" UUID NOT NULL,
    "kind" "reporting_event_kind" NOT NULL,
    "public" BOOLEAN NOT NULL,
    "from_status" "reporting_request_status",
    "to_status" "reporting_request_status",
    "reason" TEXT,
    "body" TEXT,
    "assignee_user_id" UUID,
    "related_request_id" UUID,
    "actor_type" "actor_type" NOT NULL,
    "actor_id" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reporting_events_pkey" PRIMARY KEY ("tenant_id", "id"),
    CONSTRAINT "reporting_events_body_length" CHECK ("body" IS NULL OR char_length("body") <= 4000),
    -- Internal notes stay internal.
    CONSTRAINT "reporting_events_internal_note_private" CHECK ("kind" <> 'internal_note' OR NOT "public")
);
CREATE INDEX "reporting_events_tenant_id_request_id_created_at_idx" ON "reporting_events"("tenant_id", "request_id", "created_at");

-- Followers --------------------------------------------------------------------------------
-- A signed-in person (user_id) or an address given without an account (email), not both.
CREATE TABLE "reporting_followers" (
    "tenant_id" UUID NOT NULL,
    "id" UUID NOT NULL,
    "request_id" UUID NOT NULL,
    "user_id" UUID,
    "email" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reporting_followers_pkey" PRIMARY KEY ("tenant_id", "id"),
    CONSTRAINT "reporting_followers_user_or_email" CHECK (("user_id" IS NULL) <> ("email" IS NULL)),
    CONSTRAINT "reporting_followers_email_lowercase" CHECK ("email" IS NULL OR "email" = lower("email"))
);
CREATE UNIQUE INDEX "reporting_followers_tenant_id_request_id_user_id_key" ON "reporting_followers"("tenant_id", "request_id", "user_id");
CREATE UNIQUE INDEX "reporting_followers_tenant_id_request_id_email_key" ON "reporting_followers"("tenant_id", "request_id", "email");

-- Photos -----------------------------------------------------------------------------------
-- Stored re-encoded by the service (metadata stripped), never as uploaded.
CREATE TABLE "reporting_photos" (
    "tenant_id" UUID NOT NULL,
    "id" UUID NOT NULL,
    "request_id" UUID NOT NULL,
    "content_type" TEXT NOT NULL,
    "byte_size" INTEGER NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "bytes" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reporting_photos_pkey" PRIMARY KEY ("tenant_id", "id"),
    CONSTRAINT "reporting_photos_content_type_known" CHECK ("content_type" IN ('image/jpeg', 'image/png', 'image/webp')),
    CONSTRAINT "reporting_photos_byte_size_matches" CHECK ("byte_size" = octet_length("bytes") AND "byte_size" > 0),
    CONSTRAINT "reporting_photos_dimensions_positive" CHECK ("width" > 0 AND "height" > 0)
);
CREATE INDEX "reporting_photos_tenant_id_request_id_idx" ON "reporting_photos"("tenant_id", "request_id");

-- Outbox -----------------------------------------------------------------------------------
-- Written in the unit of work of the change it announces; the delivery job sends and retries.
-- dedupe_key (the event and the recipient) makes writing the same notice twice a no-op.
CREATE TABLE "reporting_outbox" (
    "tenant_id" UUID NOT NULL,
    "id" UUID NOT NULL,
    "dedupe_key" TEXT NOT NULL,
    "request_id" UUID,
    "recipient" TEXT NOT NULL,
    "locale" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "status" "reporting_outbox_status" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,
    "message_id" TEXT,
    "sent_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reporting_outbox_pkey" PRIMARY KEY ("tenant_id", "id"),
    CONSTRAINT "reporting_outbox_attempts_positive" CHECK ("attempts" >= 0),
    CONSTRAINT "reporting_outbox_sent_at_sent" CHECK (("status" = 'sent') = ("sent_at" IS NOT NULL))
);
CREATE UNIQUE INDEX "reporting_outbox_tenant_id_dedupe_key_key" ON "reporting_outbox"("tenant_id", "dedupe_key");
-- The delivery job's queue: what is due, per city.
CREATE INDEX "reporting_outbox_tenant_id_status_next_attempt_at_idx" ON "reporting_outbox"("tenant_id", "status", "next_attempt_at");

-- Foreign keys -----------------------------------------------------------------------------
ALTER TABLE "reporting_categories" ADD CONSTRAINT "reporting_categories_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "reporting_requests" ADD CONSTRAINT "reporting_requests_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;
-- A category with requests is archived, not deleted.
ALTER TABLE "reporting_requests" ADD CONSTRAINT "reporting_requests_tenant_id_category_id_fkey"
    FOREIGN KEY ("tenant_id", "category_id") REFERENCES "reporting_categories"("tenant_id", "id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "reporting_requests" ADD CONSTRAINT "reporting_requests_tenant_id_merged_into_id_fkey"
    FOREIGN KEY ("tenant_id", "merged_into_id") REFERENCES "reporting_requests"("tenant_id", "id") ON DELETE NO ACTION ON UPDATE NO ACTION;
ALTER TABLE "reporting_requests" ADD CONSTRAINT "reporting_requests_tenant_id_reporter_user_id_fkey"
    FOREIGN KEY ("tenant_id", "reporter_user_id") REFERENCES "users"("tenant_id", "id") ON DELETE SET NULL ("reporter_user_id") ON UPDATE CASCADE;
ALTER TABLE "reporting_requests" ADD CONSTRAINT "reporting_requests_tenant_id_assignee_user_id_fkey"
    FOREIGN KEY ("tenant_id", "assignee_user_id") REFERENCES "users"("tenant_id", "id") ON DELETE SET NULL ("assignee_user_id") ON UPDATE CASCADE;

ALTER TABLE "reporting_events" ADD CONSTRAINT "reporting_events_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "reporting_events" ADD CONSTRAINT "reporting_events_tenant_id_request_id_fkey"
    FOREIGN KEY ("tenant_id", "request_id") REFERENCES "reporting_requests"("tenant_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "reporting_followers" ADD CONSTRAINT "reporting_followers_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "reporting_followers" ADD CONSTRAINT "reporting_followers_tenant_id_request_id_fkey"
    FOREIGN KEY ("tenant_id", "request_id") REFERENCES "reporting_requests"("tenant_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "reporting_followers" ADD CONSTRAINT "reporting_followers_tenant_id_user_id_fkey"
    FOREIGN KEY ("tenant_id", "user_id") REFERENCES "users"("tenant_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "reporting_photos" ADD CONSTRAINT "reporting_photos_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "reporting_photos" ADD CONSTRAINT "reporting_photos_tenant_id_request_id_fkey"
    FOREIGN KEY ("tenant_id", "request_id") REFERENCES "reporting_requests"("tenant_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "reporting_outbox" ADD CONSTRAINT "reporting_outbox_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Row-level security -----------------------------------------------------------------------
ALTER TABLE "reporting_categories" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "reporting_categories" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "reporting_categories"
    USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE "reporting_requests" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "reporting_requests" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "reporting_requests"
    USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE "reporting_events" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "reporting_events" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "reporting_events"
    USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE "reporting_followers" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "reporting_followers" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "reporting_followers"
    USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE "reporting_photos" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "reporting_photos" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "reporting_photos"
    USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

ALTER TABLE "reporting_outbox" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "reporting_outbox" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "reporting_outbox"
    USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Privileges -------------------------------------------------------------------------------
-- A category's code is fixed once created (Open311 clients keep it); everything else is
-- edited, and a category is archived rather than deleted while requests use it.
GRANT SELECT, INSERT, DELETE ON "reporting_categories" TO app_rw;
GRANT UPDATE ("names", "descriptions", "group_names", "keywords", "attributes", "position", "archived_at", "updated_at") ON "reporting_categories" TO app_rw;
-- What a resident wrote (description, place, attributes, contact) is not rewritten; triage
-- moves status, assignment and merges.
GRANT SELECT, INSERT, DELETE ON "reporting_requests" TO app_rw;
GRANT UPDATE ("status", "close_reason", "assignee_user_id", "merged_into_id", "expected_at", "acknowledged_at", "closed_at", "updated_at") ON "reporting_requests" TO app_rw;
GRANT SELECT, INSERT ON "reporting_events" TO app_rw;
GRANT SELECT, INSERT, DELETE ON "reporting_followers" TO app_rw;
GRANT SELECT, INSERT, DELETE ON "reporting_photos" TO app_rw;
GRANT SELECT, INSERT, DELETE ON "reporting_outbox" TO app_rw;
GRANT UPDATE ("status", "attempts", "next_attempt_at", "last_error", "message_id", "sent_at") ON "reporting_outbox" TO app_rw;

GRANT SELECT, INSERT, UPDATE, DELETE ON
    "reporting_categories", "reporting_requests", "reporting_events", "reporting_followers", "reporting_photos", "reporting_outbox"
    TO app_admin;
