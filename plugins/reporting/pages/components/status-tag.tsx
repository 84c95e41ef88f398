// A request's status as a tag (text and colour; the text alone carries the meaning).
import { useTranslation } from "react-i18next";

export type Status = "open" | "acknowledged" | "in_progress" | "closed";

export const STATUS_KEYS = {
  open: "status.open",
  acknowledged: "status.acknowledged",
  in_progress: "status.in_progress",
  closed: "status.closed",
} as const;

export const CLOSE_REASON_KEYS: Record<string, string> = {
  fixed: "status.reason.fixed",
  duplicate: "status.reason.duplicate",
  not_city_responsibility: "status.reason.not_city_responsibility",
  not_found: "status.reason.not_found",
  wont_fix: "status.reason.wont_fix",
  reopened: "status.reason.reopened",
};

export function StatusTag({ status }: { status: Status }) {
  const { t } = useTranslation("reporting");
  return <strong className={`tag tag--${status}`}>{t(STATUS_KEYS[status])}</strong>;
}
