// The browser's i18next backend: a namespace or language the page did not bring is fetched from
// the server's bundled translations (routes/locales.$lng.$ns), cached under the build's version.
import type { BackendModule, ReadCallback } from "i18next";
import { translationsUrl } from "./i18n";

export function translationsBackend(version: string): BackendModule {
  return {
    type: "backend",
    init() {},
    read(language: string, namespace: string, callback: ReadCallback) {
      fetch(translationsUrl(language, namespace, version), { credentials: "omit" })
        .then(async (response) => {
          if (!response.ok) throw new Error(`translations ${language}/${namespace}: ${response.status}`);
          callback(null, await response.json());
        })
        .catch((error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), false));
    },
  };
}
