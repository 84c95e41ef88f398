-- Federation (ARCHITECTURE §5, docs/federation.md, ADR 013): the instance's signing keys, its
-- peers, the durable outbox and the inbox's receipts, the federated catalogue of components and
-- datasets, and each city's imports and subscriptions.
--
-- Two kinds of table:
-- * The instance's: keys, peers, outbox, inbox receipts, and the federated catalogue
--   (components, their versions, datasets and their records, a peer's subscribers). The
--   catalogue is shared across cities by design (browsing it is the point); who may publish,
--   withdraw or read a dataset shared with named cities is decided in app/federation/, which is
--   the only code that reaches these tables, as app_admin (RLS on, no policy: app_rw sees nothing).
-- * A city's own: its imports and its subscriptions, under the usual tenant_isolation policy.

CREATE TYPE "federation_key_status" AS ENUM ('current', 'retired');
CREATE TYPE "federation_outbox_status" AS ENUM ('pending', 'delivered', 'failed');
CREATE TYPE "federation_sharing" AS ENUM ('public', 'federation', 'cities');
CREATE TYPE "federation_subscription_state" AS ENUM ('pending', 'active', 'refused');

-- The instance's Ed25519 key pairs: one current, retired ones kept so that messages signed just
-- before a rotation still verify at peers that have not yet heard of it.
CREATE TABLE "federation_keys" (
    "kid" TEXT NOT NULL,
    "public_key" TEXT NOT NULL,
    "private_key" TEXT NOT NULL,
    "status" "federation_key_status" NOT NULL DEFAULT 'current',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "retired_at" TIMESTAMPTZ(6),

    CONSTRAINT "federation_keys_pkey" PRIMARY KEY ("kid"),
    CONSTRAINT "federation_keys_kid_format" CHECK ("kid" ~ '^[A-Za-z0-9_-]{1,64}$')
);
CREATE UNIQUE INDEX "federation_keys_one_current" ON "federation_keys"("status") WHERE "status" = 'current';

-- Another instance: its discovery document as last fetched, the keys pinned from it, and the
-- handshake (both sides accept before anything but Follow/Accept flows).
CREATE TABLE "federation_peers" (
    "id" UUID NOT NULL,
    "instance_id" TEXT NOT NULL,
    "base_url" TEXT NOT NULL,
    "inbox_url" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "keys" JSONB NOT NULL,
    "discovery" JSONB NOT NULL,
    "local_accepted" BOOLEAN NOT NULL DEFAULT false,
    "remote_accepted" BOOLEAN NOT NULL DEFAULT false,
    "suspended" BOOLEAN NOT NULL DEFAULT false,
    "follow_id" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "federation_peers_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "federation_peers_instance_id_key" ON "federation_peers"("instance_id");

-- Messages to peers, delivered with retries and backoff (SKIP LOCKED: safe with several processes).
CREATE TABLE "federation_outbox" (
    "id" UUID NOT NULL,
    "peer_id" UUID NOT NULL,
    "activity" JSONB NOT NULL,
    "status" "federation_outbox_status" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "delivered_at" TIMESTAMPTZ(6),

    CONSTRAINT "federation_outbox_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "federation_outbox_due_idx" ON "federation_outbox"("next_attempt_at") WHERE "status" = 'pending';
ALTER TABLE "federation_outbox" ADD CONSTRAINT "federation_outbox_peer_id_fkey"
    FOREIGN KEY ("peer_id") REFERENCES "federation_peers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Ids of messages received: a message is processed once, a replay is refused.
CREATE TABLE "federation_inbox" (
    "message_id" TEXT NOT NULL,
    "peer_id" UUID,
    "type" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "federation_inbox_pkey" PRIMARY KEY ("message_id")
);
CREATE INDEX "federation_inbox_received_at_idx" ON "federation_inbox"("received_at");
ALTER TABLE "federation_inbox" ADD CONSTRAINT "federation_inbox_peer_id_fkey"
    FOREIGN KEY ("peer_id") REFERENCES "federation_peers"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- The federated catalogue of components: this instance's cities' and those peers sent.
-- origin_tenant_id is set for this instance's own, peer_id for a peer's.
CREATE TABLE "federation_components" (
    "id" UUID NOT NULL,
    "uri" TEXT NOT NULL,
    "peer_id" UUID,
    "origin_tenant_id" UUID,
    "origin_city" JSONB NOT NULL,
    "plugin_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "title" JSONB NOT NULL,
    "summary" JSONB NOT NULL DEFAULT '{}',
    "locales" TEXT[] CHECK ("locales" IS NOT NULL),
    "latest_version" INTEGER NOT NULL,
    "withdrawn_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "federation_components_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "federation_components_one_origin" CHECK (("peer_id" IS NULL) <> ("origin_tenant_id" IS NULL))
);
CREATE UNIQUE INDEX "federation_components_uri_key" ON "federation_components"("uri");
CREATE INDEX "federation_components_plugin_id_idx" ON "federation_components"("plugin_id");
ALTER TABLE "federation_components" ADD CONSTRAINT "federation_components_peer_id_fkey"
    FOREIGN KEY ("peer_id") REFERENCES "federation_peers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "federation_components" ADD CONSTRAINT "federation_components_origin_tenant_id_fkey"
    FOREIGN KEY ("origin_tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Each published version, exactly as signed by its origin instance.
CREATE TABLE "federation_component_versions" (
    "component_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "plugin_version_range" TEXT NOT NULL,
    "document" JSONB NOT NULL,
    "signature" TEXT NOT NULL,
    "key_id" TEXT NOT NULL,
    "author" TEXT NOT NULL,
    "published_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "federation_component_versions_pkey" PRIMARY KEY ("component_id", "version"),
    CONSTRAINT "federation_component_versions_version_positive" CHECK ("version" > 0)
);
ALTER TABLE "federation_component_versions" ADD CONSTRAINT "federation_component_versions_component_id_fkey"
    FOREIGN KEY ("component_id") REFERENCES "federation_components"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Datasets: this instance's cities' publications and the peers' ones its cities subscribe to.
CREATE TABLE "federation_datasets" (
    "id" UUID NOT NULL,
    "uri" TEXT NOT NULL,
    "peer_id" UUID,
    "origin_tenant_id" UUID,
    "origin_city" JSONB NOT NULL,
    "plugin_id" TEXT NOT NULL,
    "dataset" TEXT NOT NULL,
    "title" JSONB NOT NULL,
    "description" JSONB NOT NULL DEFAULT '{}',
    "sharing" "federation_sharing" NOT NULL,
    -- City URIs (docs/federation.md §2) a "cities" dataset is shared with.
    "shared_with" TEXT[] DEFAULT '{}',
    "last_seq" BIGINT NOT NULL DEFAULT 0,
    "refreshed_at" TIMESTAMPTZ(6),
    "withdrawn_at" TIMESTAMPTZ(6),
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "federation_datasets_pkey" PRIMARY KEY ("id"),
    -- Prisma declares scalar lists without NOT NULL; the check keeps the column meaningful.
    CONSTRAINT "federation_datasets_shared_with_present" CHECK ("shared_with" IS NOT NULL),
    CONSTRAINT "federation_datasets_one_origin" CHECK (("peer_id" IS NULL) <> ("origin_tenant_id" IS NULL))
);
CREATE UNIQUE INDEX "federation_datasets_uri_key" ON "federation_datasets"("uri");
CREATE UNIQUE INDEX "federation_datasets_origin_key" ON "federation_datasets"("origin_tenant_id", "plugin_id", "dataset");
ALTER TABLE "federation_datasets" ADD CONSTRAINT "federation_datasets_peer_id_fkey"
    FOREIGN KEY ("peer_id") REFERENCES "federation_peers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "federation_datasets" ADD CONSTRAINT "federation_datasets_origin_tenant_id_fkey"
    FOREIGN KEY ("origin_tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A dataset's records: the latest of each key, numbered by the dataset's sequence (the pull
-- feed's cursor). A record that disappears stays as a tombstone (deleted) so followers learn it.
CREATE TABLE "federation_dataset_records" (
    "dataset_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "data" JSONB,
    "hash" TEXT NOT NULL,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "provenance" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "federation_dataset_records_pkey" PRIMARY KEY ("dataset_id", "key")
);
CREATE UNIQUE INDEX "federation_dataset_records_seq_key" ON "federation_dataset_records"("dataset_id", "seq");
ALTER TABLE "federation_dataset_records" ADD CONSTRAINT "federation_dataset_records_dataset_id_fkey"
    FOREIGN KEY ("dataset_id") REFERENCES "federation_datasets"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A peer's cities that follow one of this instance's datasets: who gets the signed pushes.
CREATE TABLE "federation_dataset_followers" (
    "dataset_id" UUID NOT NULL,
    "peer_id" UUID NOT NULL,
    "city_uri" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "federation_dataset_followers_pkey" PRIMARY KEY ("dataset_id", "peer_id", "city_uri")
);
ALTER TABLE "federation_dataset_followers" ADD CONSTRAINT "federation_dataset_followers_dataset_id_fkey"
    FOREIGN KEY ("dataset_id") REFERENCES "federation_datasets"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "federation_dataset_followers" ADD CONSTRAINT "federation_dataset_followers_peer_id_fkey"
    FOREIGN KEY ("peer_id") REFERENCES "federation_peers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A city's imports of components: the version it has, whether it follows new ones, and the
-- hash of each item as imported (an item the city has not changed since may be updated).
CREATE TABLE "federation_imports" (
    "tenant_id" UUID NOT NULL,
    "component_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "following" BOOLEAN NOT NULL DEFAULT false,
    "items" JSONB NOT NULL DEFAULT '{}',
    "imported_by" UUID,
    "imported_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "federation_imports_pkey" PRIMARY KEY ("tenant_id", "component_id")
);
ALTER TABLE "federation_imports" ADD CONSTRAINT "federation_imports_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "federation_imports" ADD CONSTRAINT "federation_imports_component_id_fkey"
    FOREIGN KEY ("component_id") REFERENCES "federation_components"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "federation_imports" ADD CONSTRAINT "federation_imports_tenant_id_imported_by_fkey"
    FOREIGN KEY ("tenant_id", "imported_by") REFERENCES "users"("tenant_id", "id") ON DELETE SET NULL ("imported_by") ON UPDATE CASCADE;

-- A city's subscriptions to datasets (its own instance's or a peer's), with the cursor it has
-- read up to.
CREATE TABLE "federation_subscriptions" (
    "tenant_id" UUID NOT NULL,
    "dataset_id" UUID NOT NULL,
    "state" "federation_subscription_state" NOT NULL DEFAULT 'pending',
    "cursor" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "federation_subscriptions_pkey" PRIMARY KEY ("tenant_id", "dataset_id")
);
ALTER TABLE "federation_subscriptions" ADD CONSTRAINT "federation_subscriptions_tenant_id_fkey"
    FOREIGN KEY ("tenant_id") REFERENCES "cities"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "federation_subscriptions" ADD CONSTRAINT "federation_subscriptions_dataset_id_fkey"
    FOREIGN KEY ("dataset_id") REFERENCES "federation_datasets"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Access --------------------------------------------------------------------------------------
DO $$
DECLARE t TEXT;
BEGIN
  FOREACH t IN ARRAY ARRAY['federation_keys', 'federation_peers', 'federation_outbox', 'federation_inbox',
    'federation_components', 'federation_component_versions', 'federation_datasets',
    'federation_dataset_records', 'federation_dataset_followers']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO app_admin', t);
  END LOOP;
  FOREACH t IN ARRAY ARRAY['federation_imports', 'federation_subscriptions']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY "tenant_isolation" ON %I
      USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
      WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::uuid)$p$, t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO app_rw, app_admin', t);
  END LOOP;
END
$$;
