// /admin/members: the city's people and their roles, and invitations to join as staff or admin.
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { useTranslation } from "react-i18next";
import { CsrfField, SuccessNotice, TableScroll } from "~/components/console";
import { ErrorSummary, SelectField, TextField, type FormError } from "~/components/form";
import type { I18nHandle } from "~/i18n/i18n";
import { changeMembers, membersPage, type MembersResult } from "./members.server";

export const handle: I18nHandle = { i18n: "admin" };

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  return membersPage({ request, context, params });
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  return changeMembers({ request, context, params });
}

export const meta: MetaFunction<typeof loader> = ({ data }) => (data ? [{ title: data.title }, { name: "robots", content: "noindex" }] : []);

export default function MembersRoute() {
  const page = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as MembersResult | undefined;
  const { t } = useTranslation("admin");
  const date = new Intl.DateTimeFormat(page.locale, { dateStyle: "medium" });
  const roleName = (role: string) => (role === "admin" ? t("roles.admin") : role === "staff" ? t("roles.staff") : t("roles.resident"));
  const invalid = result?.kind === "invalid" ? result : null;
  const errors: FormError[] = [
    ...(invalid?.errors.email ? [{ fieldId: "invite-email", message: t(invalid.errors.email) }] : []),
    ...(invalid?.errors.role ? [{ fieldId: "invite-role", message: t(invalid.errors.role) }] : []),
  ];
  const notices: Record<string, string> = {
    granted: t("members.granted"),
    revoked: t("members.revoked"),
    invitationRevoked: t("members.invitationRevoked"),
  };

  return (
    <div className="prose">
      {errors.length > 0 ? <ErrorSummary key={errors.map((error) => error.message).join()} title={t("errorSummary")} errors={errors} /> : null}
      {result?.kind === "refused" ? (
        <div className="error-summary" role="alert">
          <p>{t(result.error)}</p>
        </div>
      ) : null}
      {page.notice && !result ? (
        <SuccessNotice>
          <p>{notices[page.notice]}</p>
        </SuccessNotice>
      ) : null}
      {result?.kind === "invited" ? (
        <SuccessNotice>
          <p>{t("members.invite.created", { email: result.email, role: roleName(result.role) })}</p>
          <p>
            <label htmlFor="invitation-link" className="field__label">
              {t("members.invite.link")}
            </label>
            <input id="invitation-link" className="input token" readOnly value={result.link} data-testid="invitation-link" />
          </p>
          <p className="hint">{t("members.invite.linkHint", { date: date.format(new Date(result.expiresAt)) })}</p>
        </SuccessNotice>
      ) : null}
      <p>
        <Link to={`${page.basePath}/admin`}>{t("backToConsole")}</Link>
      </p>
      <h1>{t("members.title")}</h1>
      <p className="lead">{t("members.intro")}</p>

      <section aria-labelledby="people-heading">
        <h2 id="people-heading">{t("members.people")}</h2>
        <TableScroll label={t("members.people")}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("members.person")}</th>
                <th scope="col">{t("members.roles")}</th>
                {page.manage ? <th scope="col">{t("members.actions")}</th> : null}
              </tr>
            </thead>
            <tbody>
              {page.members.map((member) => {
                const who = member.name ?? member.email ?? t("members.unnamed");
                return (
                  <tr key={member.userId}>
                    <td className="wrap-anywhere">
                      {who}
                      {member.name && member.email ? <div className="hint">{member.email}</div> : null}
                      {member.isYou ? <div className="hint">{t("members.you")}</div> : null}
                    </td>
                    <td>
                      <span className="button-row">
                        {member.roles.map((role) => (
                          <span key={role} className="tag">
                            {roleName(role)}
                          </span>
                        ))}
                      </span>
                      {member.providerRoles.some((role) => role !== "resident") ? <div className="hint">{t("members.providerRoles")}</div> : null}
                    </td>
                    {page.manage ? (
                      <td>
                        <div className="button-row">
                          {(["staff", "admin"] as const).map((role) => {
                            const held = member.roles.includes(role);
                            // A role the sign-in service gives is changed there, not here.
                            if (held && member.providerRoles.includes(role)) return null;
                            return (
                              <Form method="post" key={role} className="inline-form">
                                <CsrfField />
                                <input type="hidden" name="intent" value={held ? "revoke" : "grant"} />
                                <input type="hidden" name="userId" value={member.userId} />
                                <input type="hidden" name="role" value={role} />
                                <button type="submit" className="button button--secondary">
                                  {held ? t("members.revokeShort", { role: roleName(role) }) : t("members.grantShort", { role: roleName(role) })}
                                  {/* Which person: for screen readers, the visible text staying first in the name. */}
                                  <span className="visually-hidden"> – {who}</span>
                                </button>
                              </Form>
                            );
                          })}
                        </div>
                      </td>
                    ) : null}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableScroll>
        {page.nextHref ? (
          <p className="pagination">
            <Link to={page.nextHref}>{t("nextPage")}</Link>
          </p>
        ) : null}
      </section>

      {page.manage ? (
        <>
          <section aria-labelledby="invitations-heading">
            <h2 id="invitations-heading">{t("members.invitations.heading")}</h2>
            {page.invitations.length === 0 ? (
              <p className="empty-state">{t("members.invitations.none")}</p>
            ) : (
              <TableScroll label={t("members.invitations.heading")}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t("members.invitations.email")}</th>
                      <th scope="col">{t("members.invitations.role")}</th>
                      <th scope="col">{t("members.invitations.expires")}</th>
                      <th scope="col">{t("members.actions")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.invitations.map((invitation) => (
                      <tr key={invitation.id}>
                        <td className="wrap-anywhere">{invitation.email}</td>
                        <td>{roleName(invitation.role)}</td>
                        <td>{date.format(new Date(invitation.expiresAt))}</td>
                        <td>
                          <Form method="post" className="inline-form">
                            <CsrfField />
                            <input type="hidden" name="intent" value="revokeInvitation" />
                            <input type="hidden" name="id" value={invitation.id} />
                            <button type="submit" className="button button--secondary">
                              {t("members.invitations.revoke")}
                              <span className="visually-hidden"> – {invitation.email}</span>
                            </button>
                          </Form>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableScroll>
            )}
          </section>

          <section aria-labelledby="invite-heading">
            <h2 id="invite-heading">{t("members.invite.heading")}</h2>
            <p>{t("members.invite.intro")}</p>
            <Form method="post" noValidate>
              <CsrfField />
              <input type="hidden" name="intent" value="invite" />
              <TextField
                id="invite-email"
                name="email"
                type="email"
                label={t("members.invite.email")}
                error={invalid?.errors.email ? t(invalid.errors.email) : undefined}
                defaultValue={invalid?.values.email ?? ""}
                autoComplete="off"
                spellCheck={false}
              />
              <SelectField
                id="invite-role"
                name="role"
                label={t("members.invite.role")}
                error={invalid?.errors.role ? t(invalid.errors.role) : undefined}
                defaultValue={invalid?.values.role ?? "staff"}
                options={[
                  { value: "staff", label: t("roles.staff") },
                  { value: "admin", label: t("roles.admin") },
                ]}
              />
              <button type="submit" className="button">
                {t("members.invite.submit")}
              </button>
            </Form>
          </section>
        </>
      ) : null}
    </div>
  );
}
