-- When a peer's dataset (a mirror) was last brought up to date: a push that continued it to the
-- origin's last record, or a catch-up that read the feed to its end. Its refreshed_at is the
-- catch-up's schedule (due, leased, backing off), which the console must not show as the last
-- sync. This instance's own datasets keep using refreshed_at (their last refresh).
ALTER TABLE "federation_datasets" ADD COLUMN "synced_at" TIMESTAMPTZ(6);
UPDATE "federation_datasets" SET "synced_at" = "updated_at" WHERE "peer_id" IS NOT NULL AND "last_seq" > 0;
