// /services/reporting/unsubscribe?r=…&e=…&t=…: the link in every notification. The page asks to
// confirm (mail scanners open links: a GET changes nothing); the form then stops the emails.
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { json } from "@remix-run/node";
import { readCheckedForm } from "../../../app/auth/csrf.server";
import { unsubscribe, validUnsubscribe } from "../unsubscribe.server";
import { NO_STORE, pageTitle, reportingPage, text } from "./page.server";

type Link = { trackingId: string; email: string; token: string };

export type UnsubscribeView = { title: string; link: Link; state: "confirm" | "done" | "invalid" };

async function view(args: LoaderFunctionArgs | ActionFunctionArgs, link: Link, state: (valid: boolean) => Promise<UnsubscribeView["state"]>) {
  const page = await reportingPage(args);
  const valid = link.email.length <= 320 && (await validUnsubscribe({ tenantId: page.tenantId, ...link }));
  const shown = await state(valid);
  return json<UnsubscribeView>(
    { title: pageTitle(page, "reporting:page.unsubscribe.title"), link, state: shown },
    // A link that is not (or no longer) valid is the client's mistake: said so, with a 400.
    { status: shown === "invalid" ? 400 : 200, headers: { ...NO_STORE, "Referrer-Policy": "no-referrer" } },
  );
}

export function unsubscribePage(args: LoaderFunctionArgs) {
  const url = new URL(args.request.url);
  const link = { trackingId: url.searchParams.get("r") ?? "", email: url.searchParams.get("e") ?? "", token: url.searchParams.get("t") ?? "" };
  return view(args, link, async (valid) => (valid ? "confirm" : "invalid"));
}

export async function unsubscribeAction(args: ActionFunctionArgs) {
  const form = await readCheckedForm(args.request);
  const link = { trackingId: text(form, "r"), email: text(form, "e"), token: text(form, "t") };
  return view(args, link, async (valid) => {
    if (!valid) return "invalid";
    const page = await reportingPage(args);
    await unsubscribe({ tenantId: page.tenantId, trackingId: link.trackingId, email: link.email });
    return "done";
  });
}
