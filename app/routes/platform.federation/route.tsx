// /platform/federation: the instance's federation for operators: its id and signing keys (rotate,
// confirmed), its peers through the handshake (add by address, accept or reject, suspend,
// resume, remove confirmed) and the health of deliveries to them.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { CsrfField, PlatformNav, SuccessNotice } from "~/components/console";
import { DataTable, FormErrorSummary, IntentForm, PageHeading, SummaryRow } from "~/components/federation";
import { FieldMessages, TextField, type FormError } from "~/components/form";
import type { I18nHandle } from "~/i18n/i18n";
import { changeFederation, federationPage, type PeersResult, type PeerState } from "./federation.server";

export const handle: I18nHandle = { i18n: ["federation", "platform"] };

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  return federationPage({ request, context, params });
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  return changeFederation({ request, context, params });
}

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

type Page = ReturnType<typeof useLoaderData<typeof loader>>;
type Peer = Page["peers"][number];

export default function PlatformFederationRoute() {
  const page = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as PeersResult | undefined;
  const { t } = useTranslation("federation");
  const date = new Intl.DateTimeFormat(page.locale, { dateStyle: "medium", timeStyle: "short" });
  const number = new Intl.NumberFormat(page.locale);
  const errors: FormError[] = [];
  if (result?.kind === "invalid" && result.form === "add") errors.push({ fieldId: "peer-url", message: t(result.errors.url) });
  if (result?.kind === "invalid" && result.form === "remove") errors.push({ fieldId: `remove-confirm-${result.peerId}`, message: t(result.errors.confirm) });
  if (result?.kind === "invalid" && result.form === "rotate") errors.push({ fieldId: "rotate-confirm", message: t(result.errors.confirm) });
  if (result?.kind === "refused") errors.push({ fieldId: `peer-${result.peerId}`, message: t(result.error) });

  return (
    <div className="prose">
      <PlatformNav />
      <FormErrorSummary errors={errors} />
      {page.notice && !result ? <Notice kind={page.notice.kind} peer={page.notice.peer} /> : null}
      <PageHeading lead={t("platform.intro")}>{t("title")}</PageHeading>

      <section aria-labelledby="instance-heading">
        <h2 id="instance-heading">{t("platform.instance.heading")}</h2>
        <dl className="summary-list">
          <SummaryRow term={t("platform.instance.name")}>{page.instance.name}</SummaryRow>
          <SummaryRow term={t("platform.instance.id")} wrap>
            <code>{page.instance.id}</code>
          </SummaryRow>
          <SummaryRow term={t("platform.instance.protocol")}>
            <code>{page.instance.protocol}</code>
          </SummaryRow>
        </dl>
        <h3>{t("platform.instance.keys")}</h3>
        <DataTable label={t("platform.instance.keys")} columns={[t("platform.instance.keyId"), t("platform.instance.keyStatus"), t("platform.instance.keyCreated")]}>
          {page.instance.keys.map((key) => (
            <tr key={key.id}>
              <td className="wrap-anywhere">
                <code>{key.id}</code>
              </td>
              <td>
                <span className={key.status === "current" ? "tag" : "tag tag--suspended"}>
                  {key.status === "current" ? t("platform.instance.current") : t("platform.instance.retired")}
                </span>
              </td>
              <td>{key.created ? date.format(new Date(key.created)) : "—"}</td>
            </tr>
          ))}
        </DataTable>
        <details open={result?.kind === "invalid" && result.form === "rotate"}>
          <summary>{t("platform.rotate.heading")}</summary>
          <p>{t("platform.rotate.explained")}</p>
          <Form method="post" noValidate>
            <CsrfField />
            <Confirmation id="rotate-confirm" error={result?.kind === "invalid" && result.form === "rotate" ? t(result.errors.confirm) : undefined}>
              {t("platform.rotate.confirm")}
            </Confirmation>
            <button type="submit" name="intent" value="rotate" className="button button--warning">
              {t("platform.rotate.submit")}
            </button>
          </Form>
        </details>
      </section>

      <section aria-labelledby="peers-heading">
        <h2 id="peers-heading">{t("platform.peers.heading")}</h2>
        <p>{t("platform.peers.intro")}</p>
        {page.peers.length === 0 ? (
          <p className="empty-state">{t("platform.peers.none")}</p>
        ) : (
          <ul className="card-list card-list--wide">
            {page.peers.map((peer) => (
              <li key={peer.id} className="card">
                <PeerCard peer={peer} result={result} since={date.format(new Date(peer.since))} number={number} />
              </li>
            ))}
          </ul>
        )}
        <h3 id="add-heading">{t("platform.add.heading")}</h3>
        <Form method="post" noValidate aria-labelledby="add-heading">
          <CsrfField />
          <TextField
            id="peer-url"
            name="url"
            type="url"
            inputMode="url"
            autoComplete="off"
            spellCheck={false}
            label={t("platform.add.url")}
            hint={t("platform.add.urlHint")}
            error={result?.kind === "invalid" && result.form === "add" ? t(result.errors.url) : undefined}
            defaultValue={result?.kind === "invalid" && result.form === "add" ? result.values.url : ""}
          />
          {result?.kind === "invalid" && result.form === "add" && result.detail ? (
            <p className="hint" lang="en">
              {result.detail}
            </p>
          ) : null}
          <button type="submit" name="intent" value="add" className="button">
            {t("platform.add.submit")}
          </button>
        </Form>
      </section>

      <section aria-labelledby="outbox-heading">
        <h2 id="outbox-heading">{t("platform.outbox.heading")}</h2>
        <dl className="summary-list">
          <SummaryRow term={t("platform.outbox.pending")}>{number.format(page.outbox.pending)}</SummaryRow>
          <SummaryRow term={t("platform.outbox.failed")}>{number.format(page.outbox.failed)}</SummaryRow>
        </dl>
        <h3>{t("platform.outbox.lastErrors")}</h3>
        {page.outbox.lastErrors.length === 0 ? (
          <p className="empty-state">{t("platform.outbox.noErrors")}</p>
        ) : (
          <DataTable
            label={t("platform.outbox.lastErrors")}
            columns={[t("platform.outbox.when"), t("platform.outbox.peer"), t("platform.outbox.message"), t("platform.outbox.attempts"), t("platform.outbox.error")]}
          >
            {page.outbox.lastErrors.map((problem) => (
              <tr key={problem.id}>
                <td>{date.format(new Date(problem.at))}</td>
                <td>{problem.peer}</td>
                <td>
                  <code>{problem.type}</code>{" "}
                  {problem.status === "failed" ? <span className="tag tag--suspended">{t("platform.outbox.failed")}</span> : null}
                </td>
                <td>{number.format(problem.attempts)}</td>
                <td className="wrap-anywhere" lang="en">
                  {problem.error}
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </section>
    </div>
  );
}

/** What the last change did, from the redirect's `done` (and the peer it named, if still here). */
function Notice({ kind, peer }: { kind: string; peer: string | null }) {
  const { t } = useTranslation("federation");
  const name = peer ?? "";
  const text =
    {
      added: t("platform.done.added", { peer: name }),
      known: t("platform.done.known", { peer: name }),
      accepted: t("platform.done.accepted", { peer: name }),
      rejected: t("platform.done.rejected"),
      suspended: t("platform.done.suspended", { peer: name }),
      resumed: t("platform.done.resumed", { peer: name }),
      removed: t("platform.done.removed"),
    }[kind] ?? t("platform.done.rotated");
  return (
    <SuccessNotice>
      <p>{text}</p>
    </SuccessNotice>
  );
}

/** A box to tick before a change that cannot be undone; its error tied to it. */
function Confirmation({ id, error, children }: { id: string; error?: string; children: ReactNode }) {
  return (
    <div className={error ? "field field--error" : "field"}>
      <FieldMessages id={id} error={error} />
      <label className="checkbox">
        <input type="checkbox" id={id} name="confirm" value="yes" aria-describedby={error ? `${id}-error` : undefined} aria-invalid={error ? true : undefined} />{" "}
        {children}
      </label>
    </div>
  );
}

function StateTag({ state }: { state: PeerState }) {
  const { t } = useTranslation("federation");
  const label = { requested: t("platform.state.requested"), pending: t("platform.state.pending"), active: t("platform.state.active"), suspended: t("platform.state.suspended") }[state];
  return <span className={state === "suspended" ? "tag tag--suspended" : "tag"}>{label}</span>;
}

function PeerCard({ peer, result, since, number }: { peer: Peer; result: PeersResult | undefined; since: string; number: Intl.NumberFormat }) {
  const { t } = useTranslation("federation");
  const hint = {
    requested: t("platform.stateHint.requested"),
    pending: t("platform.stateHint.pending"),
    active: t("platform.stateHint.active"),
    suspended: t("platform.stateHint.suspended"),
  }[peer.state];
  const removeError = result?.kind === "invalid" && result.form === "remove" && result.peerId === peer.id ? t(result.errors.confirm) : undefined;
  const headingId = `peer-${peer.id}`;
  const step = (intent: string, label: string, secondary = false) => (
    <IntentForm intent={intent} fields={{ peerId: peer.id }} look={secondary ? "secondary" : "primary"} inline>
      {label}
    </IntentForm>
  );
  return (
    <section aria-labelledby={headingId}>
      <h3 id={headingId} className="card__title" tabIndex={-1}>
        {peer.name}
      </h3>
      <p className="wrap-anywhere">
        <code>{peer.instanceId}</code>
      </p>
      <p>
        <StateTag state={peer.state} /> {hint}
      </p>
      <dl className="facts">
        <dt>{t("platform.peers.since")}</dt>
        <dd>{since}</dd>
        <dt>{t("platform.peers.cities")}</dt>
        <dd>{number.format(peer.cities)}</dd>
        <dt>{t("platform.outbox.pending")}</dt>
        <dd>{number.format(peer.outbox.pending)}</dd>
        <dt>{t("platform.outbox.failed")}</dt>
        <dd>{number.format(peer.outbox.failed)}</dd>
      </dl>
      <div className="button-row">
        {peer.state === "pending" ? (
          <>
            {step("accept", t("platform.peers.accept"))}
            {step("reject", t("platform.peers.reject"), true)}
          </>
        ) : null}
        {peer.state === "active" || peer.state === "requested" ? step("suspend", t("platform.peers.suspend"), true) : null}
        {peer.state === "suspended" ? step("resume", t("platform.peers.resume")) : null}
      </div>
      <details open={removeError !== undefined}>
        <summary>{t("platform.peers.remove")}</summary>
        <p>{t("platform.peers.removeExplained")}</p>
        <Form method="post" noValidate>
          <CsrfField />
          <input type="hidden" name="peerId" value={peer.id} />
          <Confirmation id={`remove-confirm-${peer.id}`} error={removeError}>
            {t("platform.peers.removeConfirm", { peer: peer.name })}
          </Confirmation>
          <button type="submit" name="intent" value="remove" className="button button--warning">
            {t("platform.peers.removeSubmit")}
          </button>
        </Form>
      </details>
    </section>
  );
}
