// Forward pages of the services' lists (Relay's `first`/`after`): the arguments' rules, opaque
// cursors, and the page cut from a `take` of one row more than asked.
import { z } from "zod";
import { UUID_PATTERN } from "./database.server";

/**
 * The opaque cursor of a row in a newest-first list (audit events, invitations): its time and
 * id. Pages are found from the row the id names (Prisma's cursor, compared in the database at
 * the column's microsecond precision, which a JavaScript Date would lose); the time keeps the
 * cursor self-describing. A cursor belongs to the list and filters that gave it: with other
 * filters its row is not in the list, and the page is empty.
 */
export function timeCursor(row: { id: string }, at: Date): string {
  return Buffer.from(`${at.toISOString()}|${row.id}`, "utf8").toString("base64url");
}

/** The row a cursor points at, or null when the text is not a cursor. */
export function readTimeCursor(cursor: string): { at: Date; id: string } | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return null;
  const [iso, id, ...rest] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  if (rest.length > 0 || !iso || !id || !UUID_PATTERN.test(id)) return null;
  const at = new Date(iso);
  if (Number.isNaN(at.getTime()) || at.toISOString() !== iso) return null;
  return { at, id: id.toLowerCase() };
}

export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 100;

/** `first` of a forward page (Relay's connection argument); null means absent. */
export const pageSize = z
  .number({ error: "must be a number" })
  .int({ error: "must be a whole number" })
  .min(1, { error: "must be at least 1" })
  .max(MAX_PAGE_SIZE, { error: `must be at most ${MAX_PAGE_SIZE}` })
  .nullish();

/** `after`: a cursor that `read` understands (anything else is "not a cursor of this list"). */
export function cursorArgument<T>(read: (cursor: string) => T | null) {
  return z
    .string({ error: "must be a cursor" })
    .nullish()
    .transform((cursor, ctx) => {
      if (cursor === null || cursor === undefined) return undefined;
      const position = read(cursor);
      if (position === null) ctx.addIssue({ code: "custom", message: "is not a cursor of this list" });
      return position ?? undefined;
    });
}

/** `first` and `after` of a newest-first list paged by time cursors. */
export const pageArguments = { first: pageSize, after: cursorArgument(readTimeCursor) };

/** One page of a list: `take` asked for one row more than the page, to tell whether another follows. */
export function pageOf<T>(rows: T[], size: number, cursorOf: (row: T) => string) {
  const page = rows.slice(0, size);
  const first = page[0];
  const last = page.at(-1);
  return {
    rows: page,
    hasNextPage: rows.length > size,
    startCursor: first === undefined ? null : cursorOf(first),
    endCursor: last === undefined ? null : cursorOf(last),
  };
}
