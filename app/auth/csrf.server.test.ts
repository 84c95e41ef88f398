import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../tests/support/process-database";
import { CSRF_COOKIE, CsrfError, csrfToken, verifyCsrf } from "./csrf.server";
import { forgetCookieSecrets } from "./secrets.server";

let database: ProcessDatabase | undefined;
const seed = "s".repeat(43);
const otherSeed = "o".repeat(43);

beforeAll(async () => {
  forgetCookieSecrets();
  database = await useFreshProcessDatabase();
});

afterAll(async () => {
  forgetCookieSecrets();
  await database?.release();
});

function post(fields: Record<string, string>, headers: Record<string, string> = {}) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  return { request: new Request("http://paris.localhost:3000/auth/logout", { method: "POST", headers }), form };
}

describe("CSRF protection", () => {
  it("accepts a same-origin form whose token signs the browser's seed", async () => {
    const { request, form } = post({ csrf: await csrfToken(seed) }, { Cookie: `${CSRF_COOKIE}=${seed}`, Origin: "http://paris.localhost:3000" });
    await expect(verifyCsrf(request, form)).resolves.toBeUndefined();
  });

  it("refuses a missing token, a token of another seed, a missing cookie and a foreign origin", async () => {
    const token = await csrfToken(seed);
    const cases = [
      post({}, { Cookie: `${CSRF_COOKIE}=${seed}` }),
      post({ csrf: await csrfToken(otherSeed) }, { Cookie: `${CSRF_COOKIE}=${seed}` }),
      post({ csrf: token }),
      post({ csrf: token }, { Cookie: `${CSRF_COOKIE}=${seed}`, Origin: "http://budapest.localhost:3000" }),
      post({ csrf: token }, { Cookie: `${CSRF_COOKIE}=not-a-seed` }),
      // A seed planted by someone who does not know the secret signs nothing they can guess.
      post({ csrf: seed }, { Cookie: `${CSRF_COOKIE}=${seed}` }),
    ];
    for (const [index, { request, form }] of cases.entries()) {
      await expect(verifyCsrf(request, form), `case ${index}`).rejects.toBeInstanceOf(CsrfError);
    }
  });

  it("keeps tokens valid across restarts (the secret is kept in the database)", async () => {
    const before = await csrfToken(seed);
    forgetCookieSecrets();
    expect(await csrfToken(seed)).toBe(before);
  });
});
