// Plugins' own HTTP endpoints besides pages and GraphQL (Open311 for reporting): each plugin's
// handler matches its paths and passes the rest on. Loaded on first use, so the catalogue can be
// read without them. A handler checks that the request's city runs its plugin (not found else).
import type { RequestHandler } from "express";
import { PLUGINS } from "../../plugins/catalogue";
import type { Plugin } from "./sdk.server";

export function pluginEndpoints(plugins: readonly Plugin[] = PLUGINS): RequestHandler {
  const loaders = plugins.flatMap((plugin) => plugin.endpoints ?? []).map((endpoint) => endpoint.handler);
  let handlers: Promise<RequestHandler[]> | undefined;
  return (req, res, next) => {
    handlers ??= Promise.all(loaders.map((load) => load()));
    handlers
      .then((loaded) => {
        const run = (index: number): void => {
          const handler = loaded[index];
          if (!handler) return next();
          handler(req, res, (error?: unknown) => (error ? next(error) : run(index + 1)));
        };
        run(0);
      })
      .catch(next);
  };
}
