// A request's status and close reason as translation keys of the plugin's namespace: one list for
// the pages (tags, history, filters) and the server (emails, "my account").
export const STATUS_LABELS = {
  open: "reporting:status.open",
  acknowledged: "reporting:status.acknowledged",
  in_progress: "reporting:status.in_progress",
  closed: "reporting:status.closed",
} as const;

export const CLOSE_REASON_LABELS: Readonly<Record<string, string>> = {
  fixed: "reporting:status.reason.fixed",
  duplicate: "reporting:status.reason.duplicate",
  not_city_responsibility: "reporting:status.reason.not_city_responsibility",
  not_found: "reporting:status.reason.not_found",
  wont_fix: "reporting:status.reason.wont_fix",
  reopened: "reporting:status.reason.reopened",
};
