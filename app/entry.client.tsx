// Hydrates the server-rendered document. The page carries its language and translations (see
// TranslationsScript in root.tsx), so the first render needs no request; namespaces that later
// pages declare, and other languages after a switch, are loaded from /locales/{lng}/{ns}.
import { RemixBrowser } from "@remix-run/react";
import i18next from "i18next";
import { startTransition, StrictMode } from "react";
import { hydrateRoot } from "react-dom/client";
import { I18nextProvider, initReactI18next } from "react-i18next";
import { getInitialNamespaces } from "remix-i18next/client";
import { DEFAULT_NAMESPACE, I18N_OPTIONS, TRANSLATIONS_ELEMENT_ID, type TranslationsPayload } from "./i18n/i18n";
import { translationsBackend } from "./i18n/translations-backend";

async function hydrate() {
  const element = document.getElementById(TRANSLATIONS_ELEMENT_ID);
  const payload = JSON.parse(element?.textContent ?? "null") as TranslationsPayload | null;
  const locale = payload?.locale ?? document.documentElement.lang;
  await i18next
    .use(initReactI18next)
    .use(translationsBackend(payload?.version ?? ""))
    .init({
      ...I18N_OPTIONS,
      lng: locale,
      ns: [...new Set([DEFAULT_NAMESPACE, ...getInitialNamespaces()])],
      resources: payload?.resources ?? {},
      // What the page did not bring comes from the backend.
      partialBundledLanguages: true,
    });

  startTransition(() => {
    hydrateRoot(
      document,
      <I18nextProvider i18n={i18next}>
        <StrictMode>
          <RemixBrowser />
        </StrictMode>
      </I18nextProvider>,
    );
  });
}

void hydrate();
