// Server rendering: streams HTML to browsers, and waits for the whole document for bots and
// crawlers so they get complete pages. Pages render in the request's language with `common` and
// the namespaces of the matched routes (`handle.i18n`). Unexpected errors are logged with the
// request id.
import { PassThrough } from "node:stream";
import type { AppLoadContext, EntryContext, HandleErrorFunction } from "@remix-run/node";
import { createReadableStreamFromReadable } from "@remix-run/node";
import { isRouteErrorResponse, RemixServer } from "@remix-run/react";
import { isbot } from "isbot";
import { renderToPipeableStream } from "react-dom/server";
import { I18nextProvider } from "react-i18next";
import { createI18n, pageNamespaces } from "./i18n/i18n";
import { resourcesFor } from "./i18n/resources.server";
import { pageLocale } from "./site.server";

const ABORT_DELAY_MS = 5_000;

export const handleError: HandleErrorFunction = (error, { request, context }) => {
  // A client that went away, or asked for something that is not there (404, 405): nothing
  // went wrong on our side.
  if (request.signal.aborted) return;
  if (isRouteErrorResponse(error) && error.status < 500) return;
  const requestId = (context as Partial<AppLoadContext>).requestId ?? "-";
  console.error(`[${requestId}] ${request.method} ${new URL(request.url).pathname}:`, error);
};

export default async function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
  loadContext: AppLoadContext,
) {
  const waitForAll = isbot(request.headers.get("user-agent") ?? "");
  const locale = await pageLocale(request, loadContext);
  const { matches } = remixContext.staticHandlerContext;
  const namespaces = pageNamespaces(matches.map((match) => remixContext.routeModules[match.route.id]?.handle));
  const i18n = createI18n(locale, resourcesFor(locale, namespaces));
  return new Promise<Response>((resolve, reject) => {
    let shellRendered = false;
    const { pipe, abort } = renderToPipeableStream(
      <I18nextProvider i18n={i18n}>
        <RemixServer context={remixContext} url={request.url} abortDelay={ABORT_DELAY_MS} />
      </I18nextProvider>,
      {
        [waitForAll ? "onAllReady" : "onShellReady"]() {
          shellRendered = true;
          const body = new PassThrough();
          responseHeaders.set("Content-Type", "text/html; charset=utf-8");
          resolve(
            new Response(createReadableStreamFromReadable(body), {
              headers: responseHeaders,
              status: responseStatusCode,
            }),
          );
          pipe(body);
        },
        onShellError(error: unknown) {
          reject(error);
        },
        onError(error: unknown) {
          responseStatusCode = 500;
          // Errors before the shell is ready reach onShellError; log only the later ones.
          if (shellRendered) console.error(error);
        },
      },
    );
    setTimeout(abort, ABORT_DELAY_MS);
  });
}
