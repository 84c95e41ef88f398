// A request's status as a tag (text and colour; the text alone carries the meaning).
import { useTranslation } from "react-i18next";
import { STATUS_LABELS } from "../../labels";

export type Status = "open" | "acknowledged" | "in_progress" | "closed";

export function StatusTag({ status }: { status: Status }) {
  const { t } = useTranslation("reporting");
  return <strong className={`tag tag--${status}`}>{t(STATUS_LABELS[status])}</strong>;
}
