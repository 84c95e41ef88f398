// A report's photos, each a link to the full image (the public page and the staff page).
import { useTranslation } from "react-i18next";

export function Photos({ photos }: { photos: readonly string[] }) {
  const { t } = useTranslation("reporting");
  if (photos.length === 0) return null;
  return (
    <section aria-labelledby="photos-heading">
      <h2 id="photos-heading">{t("page.tracking.photos")}</h2>
      <ul className="photos">
        {photos.map((src, index) => (
          <li key={src}>
            <a href={src}>
              <img src={src} alt={t("page.tracking.photoAlt", { number: index + 1 })} loading="lazy" />
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}
