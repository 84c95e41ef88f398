// Team and invitations: staff see the people, admins change roles and invite; the last admin
// keeps the role; an invitation's link is shown once and revoking it stops it; another city's
// people and invitations are not found here.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userPrincipal } from "~/auth/principal.server";
import { withTenant } from "~/db/database.server";
import { createInvitation } from "~/cities/invitations.server";
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
const URL_VILLE = "http://localhost/ville/admin/members";
const atVille = { params: { city: "ville" } };

beforeAll(async () => {
  processDatabase = await useFreshProcessDatabase();
  fake = await useFakeIdentity();
  villeId = await insertCity({ slug: "ville", names: { en: "Town" }, defaultLocale: "en", enabledLocales: ["en"] });
  autreId = await insertCity({ slug: "autre", names: { en: "Other" }, defaultLocale: "en", enabledLocales: ["en"] });
});

afterAll(async () => {
  await setIdentity(undefined);
  await processDatabase?.release();
});

const ville = { id: "", realm: "ville", basePath: "/ville", url: URL_VILLE };
const person = (token: Parameters<FakeIdentity["accessToken"]>[1] = {}) => signedInResident(fake, { ...ville, id: villeId }, token);

async function get(cookie: string) {
  return loader(await loaderArgs(resolver, URL_VILLE, { ...atVille, headers: { Cookie: cookie } }));
}

async function post(cookie: string, fields: Record<string, string>, withToken = true) {
  const body = withToken ? await formBody(fields) : new URLSearchParams(fields);
  return action(await loaderArgs(resolver, URL_VILLE, { method: "POST", ...atVille, headers: formHeaders(URL_VILLE, cookie), body }));
}

const membershipsOf = (userId: string) =>
  withTenant(villeId, (tx) => tx.membership.findMany({ where: { userId, role: { not: "resident" } }, select: { role: true } })).then((rows) =>
    rows.map((row) => row.role).sort(),
  );

/** A loader's or action's JSON, as a page gets it (any of its answers' shapes). */
const bodyOf = async (response: Response) => JSON.parse(await response.text());

describe("who may see and change the team", () => {
  it("sends a visitor who is not signed in to sign in, and refuses a resident", async () => {
    expect((await thrownResponse(get(""))).headers.get("Location")).toBe("/ville/auth/login?returnTo=%2Fville%2Fadmin%2Fmembers");
    const { cookie } = await person();
    expect((await thrownResponse(get(cookie))).status).toBe(403);
    expect((await thrownResponse(post(cookie, { intent: "invite", email: "x@ville.test", role: "admin" }))).status).toBe(403);
  });

  it("shows staff the people without the forms, and refuses their changes", async () => {
    const { cookie, userId } = await person({ realmRoles: ["city-staff"], email: "staff@ville.test" });
    const page = await bodyOf(await get(cookie));
    expect(page.manage).toBe(false);
    expect(page.invitations).toEqual([]);
    expect(page.members).toEqual(expect.arrayContaining([expect.objectContaining({ userId, email: "staff@ville.test", roles: ["resident", "staff"], isYou: true })]));
    expect((await thrownResponse(post(cookie, { intent: "grant", userId, role: "admin" }))).status).toBe(403);
    expect(await membershipsOf(userId)).toEqual([]);
  });

  it("knows another city's admin as nobody here", async () => {
    const { cookie } = await signedInResident(fake, { id: autreId, realm: "autre", basePath: "/autre", url: "http://localhost/autre/admin/members" }, { realmRoles: ["city-admin"] });
    expect((await thrownResponse(get(cookie))).status).toBe(302);
    expect((await thrownResponse(post(cookie, { intent: "invite", email: "x@ville.test", role: "admin" }))).status).toBe(302);
  });
});

describe("roles", () => {
  it("refuses a form without its CSRF token", async () => {
    const { cookie } = await person({ realmRoles: ["city-admin"] });
    const { userId } = await person();
    expect((await thrownResponse(post(cookie, { intent: "grant", userId, role: "staff" }, false))).status).toBe(403);
    expect(await membershipsOf(userId)).toEqual([]);
  });

  it("grants and revokes staff and admin, and keeps the last admin", async () => {
    const { cookie } = await person({ realmRoles: ["city-admin"] });
    const { userId } = await person({ email: "camille@ville.test" });
    const granted = await post(cookie, { intent: "grant", userId, role: "admin" });
    expect(granted.status).toBe(303);
    expect(granted.headers.get("Location")).toBe("/ville/admin/members?done=granted");
    expect(await membershipsOf(userId)).toEqual(["admin"]);
    // Camille is the only admin through a membership (the other's comes from the realm).
    const refused = await post(cookie, { intent: "revoke", userId, role: "admin" });
    expect(refused.status).toBe(409);
    expect(await bodyOf(refused)).toEqual({ kind: "refused", error: "admin:members.errors.lastAdmin" });
    expect(await membershipsOf(userId)).toEqual(["admin"]);
    await post(cookie, { intent: "grant", userId, role: "staff" });
    expect((await post(cookie, { intent: "revoke", userId, role: "staff" })).headers.get("Location")).toBe("/ville/admin/members?done=revoked");
    expect(await membershipsOf(userId)).toEqual(["admin"]);
  });

  it("does not find a person of another city", async () => {
    const { cookie } = await person({ realmRoles: ["city-admin"] });
    const other = await signedInResident(fake, { id: autreId, realm: "autre", basePath: "/autre", url: "http://localhost/autre" });
    expect((await thrownResponse(post(cookie, { intent: "grant", userId: other.userId, role: "admin" }))).status).toBe(404);
    const rows = await withTenant(autreId, (tx) => tx.membership.count({ where: { userId: other.userId, role: { not: "resident" } } }));
    expect(rows).toBe(0);
  });
});

describe("invitations", () => {
  it("refuses a bad address or role, keeping what was typed", async () => {
    const { cookie } = await person({ realmRoles: ["city-admin"] });
    const response = await post(cookie, { intent: "invite", email: "not an address", role: "mayor" });
    expect(response.status).toBe(400);
    expect(await bodyOf(response)).toEqual({
      kind: "invalid",
      errors: { email: "admin:members.errors.email", role: "admin:members.errors.role" },
      values: { email: "not an address", role: "mayor" },
    });
  });

  it("creates one with its link shown once, lists it while pending, and revokes it", async () => {
    const { cookie } = await person({ realmRoles: ["city-admin"] });
    const created = await post(cookie, { intent: "invite", email: "New.Staff@Ville.test", role: "staff" });
    expect(created.status).toBe(200);
    const body = await bodyOf(created);
    expect(body).toMatchObject({ kind: "invited", email: "new.staff@ville.test", role: "staff" });
    expect(body.link).toMatch(/^http:\/\/localhost\/ville\/invitations\/[A-Za-z0-9_-]{43}$/);
    const page = await bodyOf(await get(cookie));
    const listed = page.invitations.find((invitation: { email: string }) => invitation.email === "new.staff@ville.test");
    expect(listed).toMatchObject({ role: "staff" });
    // The list never carries a token.
    expect(JSON.stringify(page)).not.toContain(body.link.split("/").at(-1));

    const revoked = await post(cookie, { intent: "revokeInvitation", id: listed.id });
    expect(revoked.headers.get("Location")).toBe("/ville/admin/members?done=invitationRevoked");
    const after = await bodyOf(await get(cookie));
    expect(after.invitations.map((invitation: { id: string }) => invitation.id)).not.toContain(listed.id);
  });

  it("does not find another city's invitation", async () => {
    const { cookie } = await person({ realmRoles: ["city-admin"] });
    const other = await signedInResident(fake, { id: autreId, realm: "autre", basePath: "/autre", url: "http://localhost/autre" });
    const theirAdmin = userPrincipal({ tenantId: autreId, userId: other.userId, subject: "their-admin", memberships: ["admin"] });
    const theirs = await createInvitation(theirAdmin, { email: "a@autre.test", role: "admin" }, { tenantId: autreId });
    expect((await thrownResponse(post(cookie, { intent: "revokeInvitation", id: theirs.id }))).status).toBe(404);
    const row = await withTenant(autreId, (tx) => tx.invitation.findFirstOrThrow({ where: { id: theirs.id }, select: { revokedAt: true } }));
    expect(row.revokedAt).toBeNull();
  });
});
