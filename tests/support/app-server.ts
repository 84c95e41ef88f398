// The whole application on an ephemeral port, as `npm start` runs it: a fresh process database,
// the Remix build compiled for the suite, the embedded identity provider with the server's own
// origin as CIVITAS_PUBLIC_URL, and every realm provisioned.
import { forgetRelyingParties } from "../../app/auth/relying-party.server";
import { forgetCookieSecrets } from "../../app/auth/secrets.server";
import { resetConfig } from "../../app/config.server";
import { createApp, remixHandler } from "../../app/http.server";
import { createIdentity, identity, setIdentity } from "../../app/identity/identity.server";
import { provisionAllRealms } from "../../app/identity/provision.server";
import { serve } from "./http";
import { useFreshProcessDatabase } from "./process-database";
import { compileRemixBuild } from "./remix-build";
import { insertCity, type CitySpec } from "./web";

export type AppServer = {
  /** http://127.0.0.1:{port} */
  base: string;
  port: number;
  cities: Record<string, string>;
  close(): Promise<void>;
};

export async function startAppServer(cities: CitySpec[]): Promise<AppServer> {
  const [database, remix] = await Promise.all([useFreshProcessDatabase(), compileRemixBuild()]);
  const server = await serve(createApp({ handler: remixHandler(remix.build), publicDir: remix.publicDir, logRequests: false }));
  const base = `http://127.0.0.1:${server.port}`;
  process.env.CIVITAS_PUBLIC_URL = base;
  resetConfig();
  forgetCookieSecrets();
  forgetRelyingParties();
  const ids: Record<string, string> = {};
  for (const city of cities) ids[city.slug] = await insertCity(city);
  await setIdentity(createIdentity());
  await provisionAllRealms({ backend: identity().backend });
  return {
    base,
    port: server.port,
    cities: ids,
    async close() {
      await server.close();
      await setIdentity(undefined);
      await database.release();
      await remix.remove();
      delete process.env.CIVITAS_PUBLIC_URL;
      resetConfig();
      forgetCookieSecrets();
      forgetRelyingParties();
    },
  };
}
