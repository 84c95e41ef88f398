-- A city's own welcome text per language, shown on its portal's home (the city admin's settings;
-- residents read it through the translated-text fallback). City-written, so it lives with the
-- city's other settings, editable by its admins only (app_rw may update this column).
ALTER TABLE "cities" ADD COLUMN "welcome" JSONB NOT NULL DEFAULT '{}';
ALTER TABLE "cities" ADD CONSTRAINT "cities_welcome_object" CHECK (jsonb_typeof("welcome") = 'object');

GRANT UPDATE ("welcome") ON "cities" TO app_rw;
