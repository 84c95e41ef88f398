// Each plugin's test rows (its testing.ts), for the test factories: a city made for a test has a
// row in every table, the plugins' included.
import type { Tx } from "../app/db/database.server";
import { seedCityRows as noticeBoard } from "./notice-board/testing";
import { seedCityRows as reporting } from "./reporting/testing";

export const PLUGIN_TEST_ROWS: readonly ((tx: Tx, city: { tenantId: string; userId: string }) => Promise<void>)[] = [noticeBoard, reporting];
