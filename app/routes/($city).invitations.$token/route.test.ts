// The invitation page: what it is for, choosing a first password (never replacing one), accepting
// when signed in; a used, revoked, expired, unknown or other city's token changes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userPrincipal } from "~/auth/principal.server";
import { createInvitation, revokeInvitation } from "~/cities/invitations.server";
import { withPlatformAdmin, withTenant } from "~/db/database.server";
import { setIdentity } from "~/identity/identity.server";
import { createTenantResolver } from "~/tenancy/resolve.server";
import type { FakeIdentity } from "../../../tests/support/identity";
import { useFreshProcessDatabase, type ProcessDatabase } from "../../../tests/support/process-database";
import { formBody, formHeaders, insertCity, loaderArgs, signedInResident, thrownResponse, useFakeIdentity } from "../../../tests/support/web";
import { action, loader } from "./route";

let processDatabase: ProcessDatabase;
let fake: FakeIdentity;
let villeId: string;
let autreId: string;
const resolver = createTenantResolver();

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  fake = await useFakeIdentity();
  villeId = await insertCity({ slug: "ville", names: { en: "Town" }, defaultLocale: "en", enabledLocales: ["en"] });
  autreId = await insertCity({ slug: "autre", names: { en: "Other" }, defaultLocale: "en", enabledLocales: ["en"] });
  await fake.addRealm("ville");
});

afterAll(async () => {
  await setIdentity(undefined);
  await processDatabase?.release();
});

const adminOf = (tenantId: string) => userPrincipal({ tenantId, userId: "00000000-0000-4000-8000-000000000000", subject: "admin", memberships: ["admin"] });
const invite = async (email: string, tenantId = villeId) => (await createInvitation(adminOf(tenantId), { email, role: "admin" }, { tenantId })).token;
const urlOf = (token: string) => `http://localhost/ville/invitations/${token}`;

async function get(token: string, cookie = "") {
  return loader(await loaderArgs(resolver, urlOf(token), { params: { city: "ville", token }, headers: { Cookie: cookie } }));
}

async function post(token: string, fields: Record<string, string>, cookie = "", withToken = true) {
  const url = urlOf(token);
  const body = withToken ? await formBody(fields) : new URLSearchParams(fields);
  return action(await loaderArgs(resolver, url, { method: "POST", params: { city: "ville", token }, headers: formHeaders(url, cookie), body }));
}

/** A loader's or action's JSON, as a page gets it (any of its answers' shapes). */
const bodyOf = async (response: Response) => JSON.parse(await response.text());

describe("the invitation page", () => {
  it("shows the city and role of a pending invitation, without caching or referring it", async () => {
    const token = await invite("ana@ville.test");
    const response = await get(token);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(response.headers.get("Referrer-Policy")).toBe("same-origin");
    expect(await bodyOf(response)).toMatchObject({
      cityName: "Town",
      state: "pending",
      email: "ana@ville.test",
      role: "admin",
      signedIn: false,
      canSetPassword: true,
      signInHref: `/ville/auth/login?returnTo=${encodeURIComponent(`/ville/invitations/${token}`)}`,
    });
  });

  it("says an unknown, malformed or other city's token cannot be used", async () => {
    const theirs = await invite("bo@autre.test", autreId);
    for (const token of [theirs, "x".repeat(43), "short"]) {
      expect(await bodyOf(await get(token)), token).toMatchObject({ state: "unknown", email: null, role: null });
    }
  });

  it("lets the invitee choose a first password, refused when too short or not confirmed", async () => {
    const token = await invite("chloe@ville.test");
    const short = await post(token, { intent: "password", password: "short", confirmation: "short" });
    expect(short.status).toBe(400);
    expect(await bodyOf(short)).toEqual({ kind: "invalid", errors: { password: "invitation:errors.passwordShort" } });
    const mismatch = await post(token, { intent: "password", password: "a long passphrase", confirmation: "another one" });
    expect(await bodyOf(mismatch)).toEqual({ kind: "invalid", errors: { confirmation: "invitation:errors.passwordMismatch" } });
    expect(fake.user("ville", "chloe@ville.test")).toBeUndefined();

    const saved = await post(token, { intent: "password", password: "a long passphrase", confirmation: "a long passphrase" });
    expect(saved.status).toBe(303);
    expect(saved.headers.get("Location")).toBe(`/ville/auth/login?returnTo=${encodeURIComponent(`/ville/invitations/${token}`)}`);
    expect(fake.user("ville", "chloe@ville.test")).toMatchObject({ email: "chloe@ville.test", password: "a long passphrase" });
    // A second try cannot replace it: whoever holds the link cannot take the account over.
    const again = await post(token, { intent: "password", password: "someone else's", confirmation: "someone else's" });
    expect(again.status).toBe(409);
    expect(await bodyOf(again)).toEqual({ kind: "hasPassword" });
    expect(fake.user("ville", "chloe@ville.test")?.password).toBe("a long passphrase");
  });

  it("refuses a form without its CSRF token", async () => {
    const token = await invite("dan@ville.test");
    expect((await thrownResponse(post(token, { intent: "password", password: "a long passphrase", confirmation: "a long passphrase" }, "", false))).status).toBe(403);
    expect(fake.user("ville", "dan@ville.test")).toBeUndefined();
  });

  it("accepts for the signed-in person, and the link is used up", async () => {
    const token = await invite("eve@ville.test");
    const { cookie, userId } = await signedInResident(fake, { id: villeId, realm: "ville", basePath: "/ville", url: urlOf(token) }, { email: "eve@ville.test" });
    expect(await bodyOf(await get(token, cookie))).toMatchObject({ signedIn: true, canSetPassword: false });
    const accepted = await post(token, { intent: "accept" }, cookie);
    expect(accepted.status).toBe(303);
    expect(accepted.headers.get("Location")).toBe("/ville/admin");
    const roles = await withTenant(villeId, (tx) => tx.membership.findMany({ where: { userId }, select: { role: true } }));
    expect(roles.map((row) => row.role)).toContain("admin");
    expect(await bodyOf(await get(token, cookie))).toMatchObject({ state: "accepted", email: null });
    const twice = await post(token, { intent: "accept" }, cookie);
    expect(twice.status).toBe(409);
    expect(await bodyOf(twice)).toEqual({ kind: "closed", state: "accepted" });
  });

  it("sends someone not signed in to sign in before accepting", async () => {
    const token = await invite("fay@ville.test");
    const response = await thrownResponse(post(token, { intent: "accept" }));
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toMatch(/^\/ville\/auth\/login\?returnTo=/);
  });

  it("changes nothing with a revoked or expired invitation", async () => {
    const revoked = await createInvitation(adminOf(villeId), { email: "gus@ville.test", role: "staff" }, { tenantId: villeId });
    await revokeInvitation(adminOf(villeId), { id: revoked.id }, { tenantId: villeId });
    expect(await bodyOf(await get(revoked.token))).toMatchObject({ state: "revoked" });
    const refused = await post(revoked.token, { intent: "password", password: "a long passphrase", confirmation: "a long passphrase" });
    expect(refused.status).toBe(409);
    expect(await bodyOf(refused)).toEqual({ kind: "closed", state: "revoked" });
    expect(fake.user("ville", "gus@ville.test")).toBeUndefined();

    const expired = await createInvitation(adminOf(villeId), { email: "hal@ville.test", role: "staff" }, { tenantId: villeId });
    await withPlatformAdmin((tx) =>
      tx.invitation.updateMany({ where: { id: expired.id }, data: { createdAt: new Date(Date.now() - 20 * 86_400_000), expiresAt: new Date(Date.now() - 86_400_000) } }),
    );
    const { cookie, userId } = await signedInResident(fake, { id: villeId, realm: "ville", basePath: "/ville", url: urlOf(expired.token) });
    const late = await post(expired.token, { intent: "accept" }, cookie);
    expect(await bodyOf(late)).toEqual({ kind: "closed", state: "expired" });
    const roles = await withTenant(villeId, (tx) => tx.membership.count({ where: { userId, role: "staff" } }));
    expect(roles).toBe(0);
  });
});
