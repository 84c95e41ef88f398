// The notice board's settings: what a city configures in the admin console.
import { z } from "zod";
import { translatedSetting } from "../../app/plugins/sdk.server";

export const PLUGIN_ID = "notice-board";

export const settingsSchema = z.strictObject({
  /** The board's heading on the portal, per language; the translated default when empty. */
  heading: translatedSetting({ maxLength: 80 }),
  /** How many current notices the portal shows. */
  maxNotices: z.number({ error: "must be a number" }).int({ error: "must be a whole number" }).min(1, { error: "must be at least 1" }).max(50, { error: "must be at most 50" }),
});

export type NoticeBoardSettings = z.infer<typeof settingsSchema>;

export const defaultSettings: NoticeBoardSettings = { heading: {}, maxNotices: 10 };
