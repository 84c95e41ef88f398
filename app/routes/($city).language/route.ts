// POST /language (and /{slug}/language): the language switcher of every page.
import type { ActionFunctionArgs } from "@remix-run/node";
import { changeLanguage } from "./language.server";

export async function action({ request, context, params }: ActionFunctionArgs) {
  return changeLanguage({ request, context, params });
}
