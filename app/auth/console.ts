// The sections of a city's admin console and who sees them: isomorphic, for the navigation's link
// and the console's landing page.
import { can, type Principal } from "./permissions";

/** The sections of the admin console and the permission each needs (the landing page lists those held). */
export const CONSOLE_SECTIONS = [
  { id: "settings", path: "/admin/settings", permission: "city.settings.update" },
  { id: "members", path: "/admin/members", permission: "members.read" },
  { id: "audit", path: "/admin/audit", permission: "audit.read" },
  { id: "apiClients", path: "/admin/api-clients", permission: "api_clients.manage" },
  // The plugin catalogue (its page is built elsewhere): listed so admins know where it will be.
  { id: "services", path: "/admin/services", permission: "plugins.manage" },
  { id: "federation", path: "/admin/federation", permission: "federation.manage" },
] as const;

export type ConsoleSection = (typeof CONSOLE_SECTIONS)[number]["id"];

/** Whether a principal holds any section of the admin console (the navigation's link). */
export function holdsConsole(principal: Principal): boolean {
  return principal.kind !== "anonymous" && principal.kind !== "operator" && CONSOLE_SECTIONS.some((section) => can(principal, section.permission));
}
