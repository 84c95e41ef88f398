// A request's history, oldest first: what the public sees (reported, status changes with their
// reason and message, updates, merges), and for staff also internal notes and assignments, with
// who did what.
import { Link } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { dateTime, type Display } from "./format";
import { CLOSE_REASON_LABELS, STATUS_LABELS } from "../../labels";
import type { Status } from "./status-tag";

export type HistoryEvent = {
  id: string;
  kind: "created" | "status_changed" | "assigned" | "internal_note" | "public_update" | "merged" | "photo_added";
  public: boolean;
  toStatus: Status | null;
  reason: string | null;
  body: string | null;
  at: string;
  /** Staff pages: who did it. */
  actor?: string | null;
  /** Assignments: to whom (null: nobody). */
  assignee?: string | null;
  /** Merges: the other request, and whether this one is the duplicate. */
  related?: { trackingId: string; href: string; duplicate: boolean } | null;
};

export function History({ events, display, staff = false }: { events: readonly HistoryEvent[]; display: Display; staff?: boolean }) {
  const { t } = useTranslation("reporting");
  const title = (event: HistoryEvent): string => {
    switch (event.kind) {
      case "created":
        return t("page.history.created");
      case "status_changed":
        return event.reason === "reopened"
          ? t("page.history.reopened")
          : t("page.history.statusChanged", { status: event.toStatus ? t(STATUS_LABELS[event.toStatus]) : "" });
      case "public_update":
        return t("page.history.publicUpdate");
      case "internal_note":
        return t("staff.history.internalNote");
      case "assigned":
        return event.assignee ? t("staff.history.assigned", { name: event.assignee }) : t("staff.history.unassigned");
      case "merged":
        return event.related?.duplicate === false ? t("page.history.duplicateMergedHere") : t("page.history.mergedInto");
      case "photo_added":
        return t("page.history.photoAdded");
    }
  };
  return (
    <ol className="timeline">
      {events.map((event) => {
        const reason = event.reason && event.reason !== "reopened" && event.kind === "status_changed" ? CLOSE_REASON_LABELS[event.reason] : undefined;
        return (
          <li key={event.id} className={event.public ? undefined : "timeline__item--internal"}>
            <p className="timeline__meta">
              {!event.public ? <span className="internal-label">{t("staff.history.internal")}</span> : null}
              <time dateTime={event.at}>{dateTime(display, event.at)}</time>
              {staff && event.actor ? ` · ${event.actor}` : null}
            </p>
            <p className="timeline__title">
              {title(event)}
              {event.kind === "merged" && event.related ? (
                <>
                  {" "}
                  <Link to={event.related.href}>
                    <span className="tracking-id-inline">{event.related.trackingId}</span>
                  </Link>
                </>
              ) : null}
            </p>
            {reason ? <p className="timeline__body">{t("page.history.reason", { reason: t(reason) })}</p> : null}
            {event.body ? <p className="timeline__body">{event.body}</p> : null}
          </li>
        );
      })}
    </ol>
  );
}
