// The shared catalogue: every plugin folder of this instance, listed once. Adding a plugin is a
// folder plus one line here (plugins/catalogue.test.ts checks that no folder is left out).
import type { Plugin } from "../app/plugins/sdk.server";
import noticeBoard from "./notice-board/plugin";
import reporting from "./reporting/plugin";

export const PLUGINS: readonly Plugin[] = [noticeBoard, reporting];
