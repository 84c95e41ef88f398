// The embedded provider's own pages (sign in, consent, sign-out confirmation, signed out,
// errors): plain server-rendered HTML in the realm's languages and the city's colours, with no
// script unless one is needed (sign-out), a strict Content-Security-Policy and no caching.
// Everything printed goes through `escape`; translations are text, never HTML.
import { createHash, randomBytes } from "node:crypto";
import type { TFunction } from "i18next";
import { withPlatformAdmin, type Database } from "../../db/database.server";
import { translator } from "../../i18n/i18n.server";
import { LOCALE_NAMES, textDirection, type Locale } from "../../i18n/locales";
import { pickTranslation } from "../../i18n/translated";
import { PLATFORM_NAME } from "../../site";
import { cityBranding, DEFAULT_BRANDING, type CityBranding } from "../../tenancy/resolve.server";
import { webOrigins, type RealmSpec } from "../realm";
import { realmLocales } from "./translations.server";

export type Branding = {
  /** The realm's name in the page's language if it has one (`nameLocale` says which it is). */
  name: string;
  nameLocale: string;
  /** #rrggbb */
  primaryColor: string;
  /** #rrggbb */
  accentColor: string;
  logoUrl: string | null;
};

type BrandingColumns = CityBranding;

/** A city's colours and logo as its branding column holds them, checked: only what CSS and HTML can take. */
export async function realmBrandingColumns(spec: RealmSpec, database?: Database): Promise<BrandingColumns> {
  if (!spec.tenantId) return DEFAULT_BRANDING;
  const tenantId = spec.tenantId;
  const city = await withPlatformAdmin(
    (tx) => tx.city.findUnique({ where: { id: tenantId }, select: { branding: true } }),
    database,
  );
  return cityBranding(city?.branding);
}

export function brandingFor(spec: RealmSpec, columns: BrandingColumns, locale: Locale): Branding {
  const picked = spec.tenantId ? pickTranslation(spec.displayName, locale, spec.defaultLocale) : null;
  return {
    ...columns,
    name: picked?.text ?? (spec.tenantId ? spec.realm : PLATFORM_NAME),
    nameLocale: picked?.locale ?? (spec.tenantId ? locale : "en"),
  };
}

// --- HTML ------------------------------------------------------------------------------------

export function escape(value: string): string {
  return value
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

export type Page = { status: number; headers: Record<string, string>; html: string };

export type PageFrame = {
  locale: Locale;
  spec: RealmSpec;
  branding: Branding;
  /** Builds the address of this page in another language; no language list without it. */
  languageHref?: (locale: Locale) => string;
};

type PageBody = { title: string; main: string; status?: number; script?: string };

const STYLE = (branding: Branding) => `
:root{--primary:${branding.primaryColor};--accent:${branding.accentColor}}
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Arabic","Noto Sans SC",sans-serif;line-height:1.5;color:#1a1a1a;background:#f3f4f6}
.banner{background:var(--primary);color:#fff;padding:1rem 1.5rem;display:flex;align-items:center;gap:.75rem}
.banner img{max-height:3rem;width:auto}
.brand{font-size:1.25rem;font-weight:700;margin:0}
main{max-width:30rem;margin:2rem auto;padding:2rem;background:#fff;border-top:.375rem solid var(--accent);border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.2)}
h1{font-size:1.5rem;line-height:1.3;margin:0 0 1.25rem}
.field{margin-bottom:1rem}
label{display:block;font-weight:600;margin-bottom:.25rem}
input[type=text],input[type=password]{width:100%;padding:.625rem .75rem;font:inherit;color:inherit;border:1px solid #4b5563;border-radius:.25rem;background:#fff}
input[aria-invalid=true]{border:2px solid #b91c1c}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1.5rem}
button{font:inherit;font-weight:600;padding:.625rem 1.25rem;border-radius:.25rem;border:2px solid var(--primary);background:var(--primary);color:#fff;cursor:pointer}
button.secondary{background:#fff;color:var(--primary)}
a{color:var(--primary)}
:focus-visible{outline:3px solid var(--primary);outline-offset:3px}
.error{color:#991b1b;background:#fef2f2;border:1px solid #b91c1c;border-radius:.25rem;padding:.75rem 1rem;margin:0 0 1.25rem}
.languages{max-width:30rem;margin:0 auto 2rem;padding:0 1rem}
.languages ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.5rem 1rem}
.code{color:#4b5563;font-size:.875rem}
`;

function languageList(frame: PageFrame, t: TFunction): string {
  const { languageHref } = frame;
  const locales = realmLocales(frame.spec);
  if (!languageHref || locales.length < 2) return "";
  const items = locales
    .map((locale) => {
      const current = locale === frame.locale ? ' aria-current="true"' : "";
      return `<li><a href="${escape(languageHref(locale))}" lang="${locale}" hreflang="${locale}"${current}>${escape(LOCALE_NAMES[locale])}</a></li>`;
    })
    .join("");
  return `<nav class="languages" aria-label="${escape(t("language"))}"><ul>${items}</ul></nav>`;
}

function securityHeaders(frame: PageFrame, nonce: string, script: string | undefined): Record<string, string> {
  // Form submissions end in redirects to the realm's sites (sign-in callback, post-logout page):
  // browsers check those against form-action too.
  const formTargets = ["'self'", ...webOrigins(frame.spec.sites)].join(" ");
  const scriptSource = script ? `'sha256-${createHash("sha256").update(script).digest("base64")}'` : "'none'";
  return {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    Pragma: "no-cache",
    "Content-Security-Policy": [
      "default-src 'none'",
      `style-src 'nonce-${nonce}'`,
      "img-src 'self' https:",
      `script-src ${scriptSource}`,
      `form-action ${formTargets}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join("; "),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
  };
}

function page(frame: PageFrame, body: PageBody): Page {
  const { locale, branding } = frame;
  const t = translator(locale, "identity");
  const nonce = randomBytes(16).toString("base64");
  const nameLang = branding.nameLocale !== locale ? ` lang="${escape(branding.nameLocale)}"` : "";
  const logo = branding.logoUrl ? `<img src="${escape(branding.logoUrl)}" alt="">` : "";
  const html = `<!DOCTYPE html>
<html lang="${locale}" dir="${textDirection(locale)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${escape(body.title)} · ${escape(branding.name)}</title>
<style nonce="${nonce}">${STYLE(branding)}</style>
${body.script ? `<script>${body.script}</script>` : ""}
</head>
<body>
<header class="banner">${logo}<p class="brand"${nameLang}>${escape(branding.name)}</p></header>
<main id="content">
${body.main}
</main>
${languageList(frame, t)}
</body>
</html>
`;
  return { status: body.status ?? 200, headers: securityHeaders(frame, nonce, body.script), html };
}

// --- Pages -----------------------------------------------------------------------------------

export type LoginError = "missing" | "invalid" | "disabled" | "throttled";

// Keys by value, spelled out: translation keys are never built at run time.
const LOGIN_ERROR_TEXT: Record<LoginError, string> = {
  missing: "identity:login.error.missing",
  invalid: "identity:login.error.invalid",
  disabled: "identity:login.error.disabled",
  throttled: "identity:login.error.throttled",
};

export function loginPage(
  frame: PageFrame,
  options: { action: string; username?: string; error?: LoginError; status?: number },
): Page {
  const t = translator(frame.locale, "identity");
  const { error } = options;
  const username = options.username ?? "";
  const described = error ? ' aria-describedby="login-error" aria-invalid="true"' : "";
  const errorBlock = error ? `<p id="login-error" class="error" role="alert">${escape(t(LOGIN_ERROR_TEXT[error]))}</p>` : "";
  const focusPassword = username !== "";
  return page(frame, {
    title: t("login.title"),
    status: options.status,
    main: `<h1>${escape(t("login.heading", { name: frame.branding.name }))}</h1>
${errorBlock}
<form id="kc-form-login" method="post" action="${escape(options.action)}">
<input type="hidden" name="kc_locale" value="${frame.locale}">
<div class="field">
<label for="username">${escape(t("login.username"))}</label>
<input id="username" name="username" type="text" value="${escape(username)}" autocomplete="username" autocapitalize="none" spellcheck="false" required${described}${focusPassword ? "" : " autofocus"}>
</div>
<div class="field">
<label for="password">${escape(t("login.password"))}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${described}${focusPassword ? " autofocus" : ""}>
</div>
<div class="actions"><button id="kc-login" type="submit">${escape(t("login.submit"))}</button></div>
</form>`,
  });
}

export type ConsentClient = "web" | "browser";

const CLIENT_TEXT: Record<ConsentClient, string> = { web: "identity:client.web", browser: "identity:client.browser" };

/** The scopes the consent page explains. */
const SCOPE_TEXT = new Map([
  ["openid", "identity:scope.openid"],
  ["profile", "identity:scope.profile"],
  ["email", "identity:scope.email"],
]);

export function consentPage(
  frame: PageFrame,
  options: { action: string; client: ConsentClient; username: string; scopes: string[] },
): Page {
  const t = translator(frame.locale, "identity");
  const name = frame.branding.name;
  const items = options.scopes
    .flatMap((scope) => {
      const key = SCOPE_TEXT.get(scope);
      return key ? [`<li>${escape(t(key))}</li>`] : [];
    })
    .join("");
  return page(frame, {
    title: t("consent.title"),
    main: `<h1>${escape(t("consent.heading"))}</h1>
<p>${escape(t("consent.requestedBy", { client: t(CLIENT_TEXT[options.client], { name }) }))}</p>
<p>${escape(t("consent.signedInAs", { name, username: options.username }))}</p>
<h2>${escape(t("consent.asks"))}</h2>
<ul>${items}</ul>
<form method="post" action="${escape(options.action)}">
<input type="hidden" name="kc_locale" value="${frame.locale}">
<div class="actions">
<button id="kc-login" type="submit" name="decision" value="allow">${escape(t("consent.allow"))}</button>
<button id="kc-cancel" class="secondary" type="submit" name="decision" value="deny">${escape(t("consent.deny"))}</button>
</div>
</form>`,
  });
}

/**
 * Asks before signing out. When the request proved who it is for (an id_token_hint of the
 * signed-in person), the page submits itself, as Keycloak signs out without asking then; the
 * button stays for browsers without script.
 */
export function logoutPage(frame: PageFrame, options: { action: string; xsrf: string; confirmed: boolean }): Page {
  const t = translator(frame.locale, "identity");
  const name = frame.branding.name;
  const script = options.confirmed
    ? "document.addEventListener('DOMContentLoaded',function(){document.getElementById('kc-logout-form').submit()});"
    : undefined;
  return page(frame, {
    title: t("logout.title"),
    script,
    main: `<h1>${escape(t("logout.heading", { name }))}</h1>
<p>${escape(t("logout.body", { name }))}</p>
<form id="kc-logout-form" method="post" action="${escape(options.action)}">
<input type="hidden" name="xsrf" value="${escape(options.xsrf)}">
<input type="hidden" name="logout" value="yes">
<div class="actions"><button id="kc-logout" type="submit" autofocus>${escape(t("logout.submit"))}</button></div>
</form>`,
  });
}

export function signedOutPage(frame: PageFrame): Page {
  const t = translator(frame.locale, "identity");
  const name = frame.branding.name;
  return page(frame, {
    title: t("signedOut.title"),
    main: `<h1>${escape(t("signedOut.heading"))}</h1>
<p>${escape(t("signedOut.body", { name }))}</p>`,
  });
}

export function errorPage(frame: PageFrame, options: { status: number; code?: string; expired?: boolean }): Page {
  const t = translator(frame.locale, "identity");
  // Only oidc-provider's error codes (a fixed vocabulary) are shown, never their descriptions,
  // which may echo request input and are English only.
  const code = options.code && /^[a-z_]{1,64}$/.test(options.code) ? options.code : undefined;
  return page(frame, {
    title: t("error.title"),
    status: options.status,
    main: `<h1>${escape(t("error.heading"))}</h1>
<p>${escape(t(options.expired ? "error.expired" : "error.body"))}</p>
${code ? `<p class="code">${escape(t("error.code", { code }))}</p>` : ""}`,
  });
}
