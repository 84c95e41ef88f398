// Inviting people to a city as staff or admin, and their accepting: tokens shown once, what is
// audited, who may, and the two-city rule. Runs on PGlite and on PostgreSQL.
import { createHash, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/database";
import { createCity, type TestCity } from "../../tests/support/factories";
import { addPerson } from "../../tests/support/identity";
import { readTimeCursor } from "../db/pages.server";
import { Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed } from "../auth/errors";
import { ANONYMOUS, permissionsForClientScopes, type ClientPrincipal } from "../auth/permissions";
import { userPrincipal, type UserPrincipal } from "../auth/principal.server";
import { withPlatformAdmin, withTenant } from "../db/database.server";
import {
  acceptInvitation,
  createInvitation,
  invitationCursor,
  listInvitations,
  revokeInvitation,
  type InvitationStatus,
} from "./invitations.server";

let database: TestDatabase;
let paris: TestCity;
let budapest: TestCity;

const adminOf = (city: TestCity): UserPrincipal =>
  userPrincipal({ tenantId: city.id, userId: city.userId, subject: `subject-${city.userId}`, memberships: ["admin"] });

async function personOf(city: TestCity, roles: ("staff" | "admin")[] = [], email?: string): Promise<UserPrincipal> {
  const person = await addPerson(database, city, { roles, email });
  return userPrincipal({ tenantId: city.id, userId: person.userId, subject: person.subject, memberships: roles });
}

const clientOf = (city: TestCity): ClientPrincipal => ({
  kind: "client",
  tenantId: city.id,
  apiClientId: randomUUID(),
  clientId: "integration",
  scopes: ["read", "write"],
  permissions: permissionsForClientScopes(["read", "write"]),
});

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

const invitationRow = (city: TestCity, id: string) =>
  withPlatformAdmin((tx) => tx.invitation.findUniqueOrThrow({ where: { tenantId_id: { tenantId: city.id, id } } }), database);

const rolesOf = async (city: TestCity, userId: string) =>
  (
    await withTenant(city.id, (tx) => tx.membership.findMany({ where: { userId }, select: { role: true } }), database)
  )
    .map((row) => row.role)
    .sort();

const eventsOf = (city: TestCity, subjectId: string) =>
  withTenant(
    city.id,
    (tx) => tx.auditEvent.findMany({ where: { subjectId }, orderBy: [{ occurredAt: "asc" }, { action: "asc" }] }),
    database,
  );

const expire = (city: TestCity, id: string) =>
  withPlatformAdmin(
    (tx) =>
      tx.invitation.update({
        where: { tenantId_id: { tenantId: city.id, id } },
        data: { createdAt: new Date(Date.now() - 20 * 86_400_000), expiresAt: new Date(Date.now() - 1000) },
      }),
    database,
  );

beforeAll(async () => {
  database = await createTestDatabase();
  paris = await createCity(database);
  budapest = await createCity(database);
});

afterAll(async () => {
  await database?.drop();
});

describe("createInvitation", () => {
  it("gives the token once, keeps only its SHA-256, and audits the invitation without it", async () => {
    const before = Date.now();
    const invitation = await createInvitation(
      adminOf(paris),
      { email: "  Marie.Curie@Example.ORG ", role: "staff" },
      { database, requestId: "req-invite" },
    );
    expect(invitation).toMatchObject({ email: "marie.curie@example.org", role: "staff" });
    expect(invitation.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const days = (invitation.expiresAt.getTime() - before) / 86_400_000;
    expect(days).toBeGreaterThan(13.99);
    expect(days).toBeLessThan(14.01);

    const row = await invitationRow(paris, invitation.id);
    expect(row).toMatchObject({
      email: "marie.curie@example.org",
      role: "staff",
      tokenHash: sha256(invitation.token),
      invitedByType: "user",
      invitedBy: paris.userId,
      acceptedAt: null,
      revokedAt: null,
    });
    const [event] = await eventsOf(paris, invitation.id);
    expect(event).toMatchObject({
      action: "invitation.created",
      actorType: "user",
      actorId: paris.userId,
      subjectType: "invitation",
      requestId: "req-invite",
      after: { email: "marie.curie@example.org", role: "staff", expiresAt: invitation.expiresAt.toISOString() },
    });
    expect(JSON.stringify(event)).not.toContain(invitation.token);
    expect(JSON.stringify(event)).not.toContain(row.tokenHash);
  });

  it("refuses an address that is not one, and roles other than staff and admin", async () => {
    const email = await createInvitation(adminOf(paris), { email: "not an address", role: "staff" }, { database }).catch((e: unknown) => e);
    expect(email).toBeInstanceOf(ValidationFailed);
    expect((email as ValidationFailed).fields.email).toEqual(["must be an email address"]);
    for (const role of ["resident", "owner"]) {
      const error = await createInvitation(adminOf(paris), { email: "a@example.org", role: role as "staff" }, { database }).catch(
        (e: unknown) => e,
      );
      expect((error as ValidationFailed).fields.role, role).toEqual(["must be staff or admin"]);
    }
  });

  it("is for the city's admins", async () => {
    const input = { email: "someone@example.org", role: "admin" as const };
    await expect(createInvitation(ANONYMOUS, input, { database })).rejects.toBeInstanceOf(Unauthenticated);
    await expect(createInvitation(await personOf(paris), input, { database })).rejects.toBeInstanceOf(Forbidden);
    await expect(createInvitation(await personOf(paris, ["staff"]), input, { database })).rejects.toBeInstanceOf(Forbidden);
    await expect(createInvitation(clientOf(paris), input, { database })).rejects.toBeInstanceOf(Forbidden);
    await expect(createInvitation(adminOf(budapest), input, { tenantId: paris.id, database })).rejects.toBeInstanceOf(Forbidden);
    const count = await withPlatformAdmin((tx) => tx.invitation.count({ where: { email: "someone@example.org" } }), database);
    expect(count).toBe(0);
  });
});

describe("acceptInvitation", () => {
  it("grants the role to whoever holds the token, marks the invitation accepted and audits both", async () => {
    const invitation = await createInvitation(adminOf(paris), { email: "new.staff@example.org", role: "staff" }, { database });
    const person = await personOf(paris, [], "someone.else@example.org");
    const accepted = await acceptInvitation(person, { token: invitation.token }, { database, requestId: "req-accept" });
    expect(accepted).toMatchObject({ id: invitation.id, role: "staff", roles: ["resident", "staff"], granted: true });
    expect(await rolesOf(paris, person.userId)).toEqual(["resident", "staff"]);

    const row = await invitationRow(paris, invitation.id);
    expect(row.acceptedBy).toBe(person.userId);
    expect(row.acceptedAt).toEqual(accepted.acceptedAt);

    const [acceptedEvent] = (await eventsOf(paris, invitation.id)).filter((e) => e.action === "invitation.accepted");
    expect(acceptedEvent).toMatchObject({
      actorType: "user",
      actorId: person.userId,
      requestId: "req-accept",
      before: { acceptedAt: null },
      after: {
        acceptedBy: person.userId,
        email: "new.staff@example.org",
        acceptedByEmail: "someone.else@example.org",
        emailMatches: false,
        role: "staff",
      },
    });
    const [granted] = await eventsOf(paris, person.userId);
    expect(granted).toMatchObject({
      action: "membership.role_granted",
      before: { roles: ["resident"] },
      after: { roles: ["resident", "staff"], invitationId: invitation.id },
    });
  });

  it("records a matching address, ignoring case, and grants nothing new to someone who holds the role", async () => {
    const invitation = await createInvitation(adminOf(paris), { email: "Boss@Example.org", role: "admin" }, { database });
    const admin = await personOf(paris, ["admin"], "BOSS@example.org");
    const accepted = await acceptInvitation(admin, { token: invitation.token }, { database });
    expect(accepted).toMatchObject({ granted: false, roles: ["resident", "admin"] });
    const events = await eventsOf(paris, invitation.id);
    expect(events.find((e) => e.action === "invitation.accepted")?.after).toMatchObject({ emailMatches: true });
    expect(await eventsOf(paris, admin.userId)).toEqual([]);
  });

  it("refuses a token used already, even by the same person", async () => {
    const invitation = await createInvitation(adminOf(paris), { email: "twice@example.org", role: "staff" }, { database });
    const person = await personOf(paris);
    await acceptInvitation(person, { token: invitation.token }, { database });
    const again = acceptInvitation(person, { token: invitation.token }, { database });
    await expect(again).rejects.toBeInstanceOf(Conflict);
    await expect(again).rejects.toMatchObject({ reason: "invitation_accepted" });
    const other = await personOf(paris);
    await expect(acceptInvitation(other, { token: invitation.token }, { database })).rejects.toMatchObject({
      reason: "invitation_accepted",
    });
    expect(await rolesOf(paris, other.userId)).toEqual(["resident"]);
  });

  it("refuses an expired invitation and grants nothing", async () => {
    const invitation = await createInvitation(adminOf(paris), { email: "late@example.org", role: "admin" }, { database });
    await expire(paris, invitation.id);
    const person = await personOf(paris);
    const error = await acceptInvitation(person, { token: invitation.token }, { database }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Conflict);
    expect(error).toMatchObject({ reason: "invitation_expired", message: expect.stringMatching(/expired/) });
    expect(await rolesOf(paris, person.userId)).toEqual(["resident"]);
    expect((await invitationRow(paris, invitation.id)).acceptedAt).toBeNull();
  });

  it("refuses a revoked invitation", async () => {
    const invitation = await createInvitation(adminOf(paris), { email: "revoked@example.org", role: "staff" }, { database });
    await revokeInvitation(adminOf(paris), { id: invitation.id }, { database });
    await expect(acceptInvitation(await personOf(paris), { token: invitation.token }, { database })).rejects.toMatchObject({
      reason: "invitation_revoked",
    });
  });

  it("does not find another city's invitation: the token works only at its own city", async () => {
    const invitation = await createInvitation(adminOf(paris), { email: "wrong.city@example.org", role: "admin" }, { database });
    const budapestPerson = await personOf(budapest);
    await expect(acceptInvitation(budapestPerson, { token: invitation.token }, { database })).rejects.toBeInstanceOf(NotFound);
    // Nor when the request names Paris: that person is not Paris'.
    await expect(
      acceptInvitation(budapestPerson, { token: invitation.token }, { tenantId: paris.id, database }),
    ).rejects.toBeInstanceOf(Forbidden);
    expect(await rolesOf(budapest, budapestPerson.userId)).toEqual(["resident"]);
    expect((await invitationRow(paris, invitation.id)).acceptedAt).toBeNull();
  });

  it("says what is wrong with a token that is not one, and needs a signed-in person of the city", async () => {
    const person = await personOf(paris);
    const error = await acceptInvitation(person, { token: "abc" }, { database }).catch((e: unknown) => e);
    expect((error as ValidationFailed).fields.token).toEqual(["is not an invitation token (43 letters, digits, - and _)"]);
    await expect(acceptInvitation(person, { token: "A".repeat(43) }, { database })).rejects.toBeInstanceOf(NotFound);
    const invitation = await createInvitation(adminOf(paris), { email: "x@example.org", role: "staff" }, { database });
    await expect(acceptInvitation(ANONYMOUS, { token: invitation.token }, { database })).rejects.toBeInstanceOf(Unauthenticated);
    await expect(acceptInvitation(clientOf(paris), { token: invitation.token }, { database })).rejects.toBeInstanceOf(Forbidden);
  });

  it("lets only one of two people accept the same token at once", async () => {
    const invitation = await createInvitation(adminOf(paris), { email: "race@example.org", role: "admin" }, { database });
    const [first, second] = [await personOf(paris), await personOf(paris)];
    const results = await Promise.allSettled([
      acceptInvitation(first, { token: invitation.token }, { database }),
      acceptInvitation(second, { token: invitation.token }, { database }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = results.find((r) => r.status === "rejected");
    expect(refused?.status === "rejected" && refused.reason).toBeInstanceOf(Conflict);
    const admins = [...(await rolesOf(paris, first.userId)), ...(await rolesOf(paris, second.userId))].filter((r) => r === "admin");
    expect(admins).toHaveLength(1);
  });
});

describe("revokeInvitation", () => {
  it("revokes a pending invitation once, audited; a second time changes nothing", async () => {
    const invitation = await createInvitation(adminOf(paris), { email: "revoke.me@example.org", role: "staff" }, { database });
    const revoked = await revokeInvitation(adminOf(paris), { id: invitation.id }, { database, requestId: "req-revoke" });
    expect(revoked).toMatchObject({ id: invitation.id, changed: true });
    expect((await invitationRow(paris, invitation.id)).revokedAt).toEqual(revoked.revokedAt);
    const again = await revokeInvitation(adminOf(paris), { id: invitation.id }, { database });
    expect(again).toEqual({ id: invitation.id, revokedAt: revoked.revokedAt, changed: false });
    const events = (await eventsOf(paris, invitation.id)).filter((e) => e.action === "invitation.revoked");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      requestId: "req-revoke",
      before: { revokedAt: null },
      after: { email: "revoke.me@example.org", revokedAt: revoked.revokedAt.toISOString() },
    });
  });

  it("refuses an accepted invitation: the role is revoked instead", async () => {
    const invitation = await createInvitation(adminOf(paris), { email: "kept@example.org", role: "staff" }, { database });
    await acceptInvitation(await personOf(paris), { token: invitation.token }, { database });
    await expect(revokeInvitation(adminOf(paris), { id: invitation.id }, { database })).rejects.toMatchObject({
      code: "CONFLICT",
      reason: "invitation_accepted",
    });
  });

  it("answers not found for another city's invitation, and leaves it pending", async () => {
    const invitation = await createInvitation(adminOf(paris), { email: "paris.only@example.org", role: "staff" }, { database });
    await expect(revokeInvitation(adminOf(budapest), { id: invitation.id }, { database })).rejects.toBeInstanceOf(NotFound);
    await expect(revokeInvitation(adminOf(budapest), { id: "not-a-uuid" }, { database })).rejects.toBeInstanceOf(NotFound);
    expect((await invitationRow(paris, invitation.id)).revokedAt).toBeNull();
    await expect(revokeInvitation(await personOf(paris, ["staff"]), { id: invitation.id }, { database })).rejects.toBeInstanceOf(
      Forbidden,
    );
  });
});

describe("listInvitations", () => {
  it("lists newest first with each invitation's status, filters by status, and never shows the hash", async () => {
    const city = await createCity(database);
    const admin = adminOf(city);
    const pending = await createInvitation(admin, { email: "pending@example.org", role: "staff" }, { database });
    const accepted = await createInvitation(admin, { email: "accepted@example.org", role: "staff" }, { database });
    const revoked = await createInvitation(admin, { email: "revoked@example.org", role: "admin" }, { database });
    const expired = await createInvitation(admin, { email: "expired@example.org", role: "admin" }, { database });
    await acceptInvitation(await personOf(city), { token: accepted.token }, { database });
    await revokeInvitation(admin, { id: revoked.id }, { database });
    await expire(city, expired.id);

    const all = await listInvitations(admin, {}, { database });
    // The factory's own invitation comes too.
    expect(all.invitations).toHaveLength(5);
    expect(all.hasNextPage).toBe(false);
    const created = all.invitations.map((row) => row.createdAt.getTime());
    expect(created).toEqual([...created].sort((a, b) => b - a));
    const statusOf = Object.fromEntries(all.invitations.map((row) => [row.email, row.status]));
    expect(statusOf).toMatchObject({
      "pending@example.org": "pending",
      "accepted@example.org": "accepted",
      "revoked@example.org": "revoked",
      "expired@example.org": "expired",
    });
    for (const row of all.invitations) expect(row).not.toHaveProperty("tokenHash");

    const only = async (status: InvitationStatus) =>
      (await listInvitations(admin, { status }, { database })).invitations.map((row) => row.email);
    expect(await only("accepted")).toEqual(["accepted@example.org"]);
    expect(await only("revoked")).toEqual(["revoked@example.org"]);
    expect(await only("expired")).toEqual(["expired@example.org"]);
    expect(await only("pending")).toEqual(expect.arrayContaining(["pending@example.org"]));
    expect(await only("pending")).not.toContain("expired@example.org");
    expect(pending.id).toBeDefined();
  });

  it("pages with a cursor, without losing or repeating an invitation", async () => {
    const city = await createCity(database);
    const admin = adminOf(city);
    for (let i = 0; i < 4; i += 1) await createInvitation(admin, { email: `p${i}@example.org`, role: "staff" }, { database });
    const everyone = (await listInvitations(admin, {}, { database })).invitations.map((row) => row.id);
    expect(everyone).toHaveLength(5);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await listInvitations(admin, { first: 2, after }, { database });
      seen.push(...page.invitations.map((row) => row.id));
      expect(page.startCursor).toBe(page.invitations[0] ? invitationCursor(page.invitations[0]) : null);
      if (!page.hasNextPage) break;
      after = page.endCursor;
    }
    expect(seen).toEqual(everyone);
    expect(readTimeCursor(invitationCursor({ id: everyone[0]!, createdAt: new Date(0) }))).toEqual({ at: new Date(0), id: everyone[0] });

    const bad = await listInvitations(admin, { after: "garbage!" }, { database }).catch((e: unknown) => e);
    expect((bad as ValidationFailed).fields.after).toEqual(["is not a cursor of this list"]);
    const tooMany = await listInvitations(admin, { first: 101 }, { database }).catch((e: unknown) => e);
    expect((tooMany as ValidationFailed).fields.first).toEqual(["must be at most 100"]);
  });

  it("fetches what GraphQL selects, relations included, and still never the hash", async () => {
    const city = await createCity(database);
    const admin = adminOf(city);
    const invitation = await createInvitation(admin, { email: "selected@example.org", role: "staff" }, { database });
    const person = await personOf(city, [], "selected@example.org");
    await acceptInvitation(person, { token: invitation.token }, { database });

    const selected = await listInvitations(admin, { status: "accepted" }, { database }, { select: { email: true, tokenHash: true } });
    expect(selected.invitations).toHaveLength(1);
    expect(selected.invitations[0]).toMatchObject({ email: "selected@example.org", status: "accepted", id: invitation.id });
    expect(selected.invitations[0]).not.toHaveProperty("tokenHash");
    expect(selected.invitations[0]).not.toHaveProperty("role");

    const included = await listInvitations(admin, { status: "accepted" }, { database }, { include: { accepter: true } });
    const [row] = included.invitations as (typeof included.invitations[number] & { accepter: { id: string } | null })[];
    expect(row?.accepter?.id).toBe(person.userId);
    expect(row).not.toHaveProperty("tokenHash");
  });

  it("shows only the city's own invitations, to its admins", async () => {
    const mine = (await listInvitations(adminOf(budapest), {}, { database })).invitations;
    expect(mine.every((row) => row.tenantId === budapest.id)).toBe(true);
    expect(mine.map((row) => row.email)).not.toContain("paris.only@example.org");
    await expect(listInvitations(ANONYMOUS, {}, { database })).rejects.toBeInstanceOf(Unauthenticated);
    await expect(listInvitations(await personOf(paris, ["staff"]), {}, { database })).rejects.toBeInstanceOf(Forbidden);
    await expect(listInvitations(adminOf(budapest), {}, { tenantId: paris.id, database })).rejects.toBeInstanceOf(Forbidden);
  });
});
