// The federation console's route tests: three cities of one instance (Ville in French and
// English, Autre and Tierce in French), each with an admin, Ville with staff and a resident too, signed in as the
// sign-in callback leaves them; the reporting service run by a city as its admins install it;
// and loaders and actions called as the server calls them, at a city's address.
import { randomUUID } from "node:crypto";
import { userPrincipal } from "../../app/auth/principal.server";
import { withTenant } from "../../app/db/database.server";
import { setIdentity } from "../../app/identity/identity.server";
import { installPlugin } from "../../app/plugins/lifecycle.server";
import { createTenantResolver } from "../../app/tenancy/resolve.server";
import { newTrackingId } from "../../plugins/reporting/requests.server";
import type { FakeIdentity } from "./identity";
import { useFreshProcessDatabase, type ProcessDatabase } from "./process-database";
import { formBody, formHeaders, insertCity, loaderArgs, signedInResident, useFakeIdentity, type LoaderArgs } from "./web";

type Handler = (args: LoaderArgs) => Promise<Response>;
export type RouteModule = { loader: Handler; action?: Handler };

export type ConsoleCity = {
  id: string;
  slug: string;
  admin: { userId: string; cookie: string };
};

export type FederationConsoleTest = {
  ville: ConsoleCity & { staff: string; resident: string };
  autre: ConsoleCity;
  tierce: ConsoleCity;
  release(): Promise<void>;
};

const resolver = createTenantResolver();

async function person(fake: FakeIdentity, city: { id: string; slug: string }, realmRoles: string[], name?: string) {
  const url = `http://localhost/${city.slug}/admin`;
  return signedInResident(fake, { id: city.id, realm: city.slug, basePath: `/${city.slug}`, url }, { realmRoles, ...(name && { name }) });
}

/** A fresh process database with Ville, Autre and Tierce, their admins, and Ville's staff member and resident. */
export async function federationConsoleCities(): Promise<FederationConsoleTest> {
  const processDatabase: ProcessDatabase = await useFreshProcessDatabase();
  const fake = await useFakeIdentity();
  const villeId = await insertCity({ slug: "ville", names: { fr: "Ville", en: "Town" }, defaultLocale: "fr", enabledLocales: ["fr", "en"] });
  const autreId = await insertCity({ slug: "autre", names: { fr: "Autre" }, defaultLocale: "fr", enabledLocales: ["fr"] });
  const tierceId = await insertCity({ slug: "tierce", names: { fr: "Tierce" }, defaultLocale: "fr", enabledLocales: ["fr"] });
  const ville = { id: villeId, slug: "ville" };
  const autre = { id: autreId, slug: "autre" };
  const tierce = { id: tierceId, slug: "tierce" };
  return {
    ville: {
      ...ville,
      admin: await person(fake, ville, ["city-admin"], "Véra Vidal"),
      staff: (await person(fake, ville, ["city-staff"])).cookie,
      resident: (await person(fake, ville, [])).cookie,
    },
    autre: { ...autre, admin: await person(fake, autre, ["city-admin"], "Aline Arnaud") },
    tierce: { ...tierce, admin: await person(fake, tierce, ["city-admin"]) },
    async release() {
      await setIdentity(undefined);
      await processDatabase.release();
    },
  };
}

/** The city's admin installs the reporting service (its default categories come with it). */
export async function runReporting(city: ConsoleCity): Promise<void> {
  const admin = userPrincipal({ tenantId: city.id, userId: city.admin.userId, subject: `admin-${city.slug}`, memberships: ["resident", "staff", "admin"] });
  await installPlugin(admin, { pluginId: "reporting" }, { tenantId: city.id });
}

/** A service request in one of the city's categories (by code), received now. */
export async function fileRequest(city: { id: string }, categoryCode: string): Promise<void> {
  await withTenant(city.id, async (tx) => {
    const category = await tx.reportingCategory.findFirstOrThrow({ where: { tenantId: city.id, code: categoryCode }, select: { id: true } });
    await tx.reportingRequest.create({
      data: { tenantId: city.id, id: randomUUID(), trackingId: newTrackingId(), categoryId: category.id, status: "open", description: "Trou", address: "Rue", source: "graphql", locale: "fr" },
    });
  });
}

const urlOf = (path: string) => `http://localhost${path}`;

/** A loader's answer at `path` (params as the route names them), for the session `cookie`. */
export async function load(route: RouteModule, path: string, params: Record<string, string>, cookie: string): Promise<Response> {
  return route.loader(await loaderArgs(resolver, urlOf(path), { params, headers: cookie ? { Cookie: cookie } : {} }));
}

/** An action's answer to a same-origin form post of `fields` at `path`. */
export async function submit(route: RouteModule, path: string, params: Record<string, string>, cookie: string, fields: Record<string, string | string[]>): Promise<Response> {
  const body = await formBody({});
  for (const [name, value] of Object.entries(fields)) for (const item of Array.isArray(value) ? value : [value]) body.append(name, item);
  if (!route.action) throw new Error(`no action at ${path}`);
  return route.action(await loaderArgs(resolver, urlOf(path), { method: "POST", params, headers: formHeaders(urlOf(path), cookie), body }));
}

/** A loader's or action's JSON, as a page gets it (any of its answers' shapes). */
export const bodyOf = async <T = any>(response: Response): Promise<T> => JSON.parse(await response.text()) as T; // eslint-disable-line @typescript-eslint/no-explicit-any
