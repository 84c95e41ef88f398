// The staff pages' own navigation: requests, dashboard, categories (for those who configure).
import { NavLink } from "@remix-run/react";
import { useTranslation } from "react-i18next";

export function StaffNav({ servicePath, canConfigure }: { servicePath: string; canConfigure: boolean }) {
  // Those who configure the service (admins) also hold the city's API clients: Open311's keys.
  const { t } = useTranslation("reporting");
  const links = [
    { to: `${servicePath}/staff`, label: t("staff.nav.requests"), end: true },
    { to: `${servicePath}/staff/dashboard`, label: t("staff.nav.dashboard"), end: true },
    ...(canConfigure
      ? [
          { to: `${servicePath}/staff/categories`, label: t("staff.nav.categories"), end: false },
          { to: `${servicePath}/staff/open311`, label: t("staff.nav.open311"), end: true },
        ]
      : []),
    { to: servicePath, label: t("staff.nav.public"), end: true },
  ];
  return (
    <nav className="staff-nav" aria-label={t("staff.nav.label")}>
      <ul>
        {links.map((link) => (
          <li key={link.to}>
            <NavLink to={link.to} end={link.end}>
              {link.label}
            </NavLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}
