// The reporting service's home: choose a category, then describe the issue (place, the
// category's own questions, photos, an email to be kept informed) and send it; find a report by
// its tracking id. A report near an open one of the same category is first offered to follow
// that one instead. Photos arrive as multipart, each read into memory up to the city's limit.
import { limitAction } from "../../../app/auth/rate-limits.server";
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import {
  json,
  MaxPartSizeExceededError,
  redirect,
  unstable_composeUploadHandlers,
  unstable_createMemoryUploadHandler,
  unstable_parseMultipartFormData,
  type UploadHandler,
} from "@remix-run/node";
import { CsrfError, readCheckedForm, verifyCsrf } from "../../../app/auth/csrf.server";
import { Forbidden, Unauthenticated, ValidationFailed } from "../../../app/auth/errors";
import { can } from "../../../app/auth/permissions";
import type { AttributeDatatype, CategoryAttribute } from "../attributes";
import { listServiceCategories, type ServiceCategory } from "../categories.server";
import { normaliseTrackingId, reportIssue } from "../requests.server";
import type { ReportingSettings } from "../settings.server";
import type { LocalText } from "./components/format";
import { displayOf, forbidden, localText, NO_STORE, pageTitle, reportingPage, signInPath, text, type ReportingPage } from "./page.server";

export const DESCRIPTION_MAX = 4000;

export type AttributeField = {
  code: string;
  datatype: AttributeDatatype;
  required: boolean;
  /** False: information for the resident, nothing to fill in. */
  variable: boolean;
  label: LocalText;
  hint: LocalText | null;
  choices: { key: string; label: LocalText }[];
};

export type CategoryChoice = { code: string; name: LocalText; description: LocalText | null; group: LocalText | null };

/** A refused field: the message's key in the plugin's namespace, and its values. */
export type FieldError = { key: string; values?: Record<string, string | number> };

export type ReportValues = {
  description: string;
  address: string;
  latitude: string;
  longitude: string;
  email: string;
  attributes: Record<string, string[]>;
};

export type DuplicateOffer = {
  trackingId: string;
  status: "open" | "acknowledged" | "in_progress" | "closed";
  description: string;
  address: string | null;
  distanceMeters: number;
  createdAt: string;
};

export type ReportResult =
  | { kind: "invalid"; errors: Record<string, FieldError>; values: ReportValues }
  | { kind: "duplicates"; candidates: DuplicateOffer[]; values: ReportValues; hadPhotos: boolean };

export function attributeFields(page: ReportingPage, attributes: readonly CategoryAttribute[]): AttributeField[] {
  return attributes.map((attribute) => {
    const hint = localText(page, attribute.datatypeDescription);
    return {
      code: attribute.code,
      datatype: attribute.datatype,
      required: attribute.required,
      variable: attribute.variable,
      label: localText(page, attribute.description),
      hint: hint.text ? hint : null,
      choices: attribute.values.map((value) => ({ key: value.key, label: localText(page, value.name) })),
    };
  });
}

function categoryChoice(page: ReportingPage, category: ServiceCategory): CategoryChoice {
  const description = localText(page, category.descriptions);
  const group = localText(page, category.groupNames);
  return { code: category.code, name: localText(page, category.names), description: description.text ? description : null, group: group.text ? group : null };
}

/** Whether this visitor may report here: anyone where the city allows it, else people of the city. */
function mayReport(page: ReportingPage): boolean {
  const { principal } = page;
  if (principal.kind === "anonymous") return page.settings.anonymousReports;
  return principal.kind === "user" && principal.tenantId === page.tenantId && can(principal, "reporting.report");
}

export async function reportFormPage(args: LoaderFunctionArgs) {
  const page = await reportingPage(args);
  const url = new URL(args.request.url);
  const track = url.searchParams.get("track");
  let trackError: FieldError | null = null;
  if (track !== null) {
    const trackingId = normaliseTrackingId(track);
    if (trackingId) throw redirect(`${page.servicePath}/requests/${trackingId}`, { headers: NO_STORE });
    trackError = { key: track.trim() === "" ? "reporting:form.errors.trackingIdMissing" : "reporting:form.errors.trackingIdInvalid" };
  }
  const categories = await listServiceCategories(page.principal, {}, page.service);
  const code = url.searchParams.get("category");
  const chosen = code === null ? undefined : categories.find((category) => category.code === code.trim().toLowerCase());
  const categoryError: FieldError | null = code !== null && !chosen ? { key: "reporting:form.errors.category" } : null;
  return json(
    {
      title: pageTitle(page, chosen ? "reporting:page.report.titleFor" : "reporting:page.report.title", chosen ? { category: localText(page, chosen.names).text } : {}),
      display: displayOf(page),
      servicePath: page.servicePath,
      mayReport: mayReport(page),
      signedIn: page.principal.kind === "user",
      signInHref: signInPath(page.basePath, args.request),
      categories: categories.map((category) => categoryChoice(page, category)),
      chosen: chosen ? { ...categoryChoice(page, chosen), attributes: attributeFields(page, chosen.attributes) } : null,
      categoryError,
      track: track ?? "",
      trackError,
      limits: { description: DESCRIPTION_MAX, photoMaxCount: page.settings.photoMaxCount, photoMaxBytes: page.settings.photoMaxBytes },
    },
    { headers: NO_STORE },
  );
}

// --- The form as sent ---------------------------------------------------------------------------

const TEXT_PART_MAX = 64_000;
const MAX_PARTS = 400;

type ReportForm = { form: FormData; photos: Uint8Array[]; oversized: boolean };

function badRequest(message: string, status = 400): Response {
  return new Response(`${message}\n`, { status, headers: { "Content-Type": "text/plain", ...NO_STORE } });
}

/**
 * A multipart form, with bounded memory: text parts up to 64 kB, at most the city's number of
 * photos plus one (so that "too many" is still said), each up to its size limit; a bigger
 * photo is drained and only noted. Then the CSRF check, as for any form.
 */
async function readMultipartForm(request: Request, settings: ReportingSettings): Promise<ReportForm> {
  const photos: Uint8Array[] = [];
  let oversized = false;
  let parts = 0;
  const photoHandler: UploadHandler = async ({ name, filename, data }) => {
    if ((parts += 1) > MAX_PARTS) throw new MaxPartSizeExceededError("parts", MAX_PARTS);
    if (typeof filename !== "string") return undefined;
    const chunks: Uint8Array[] = [];
    let size = 0;
    const keep = name === "photos" && photos.length <= settings.photoMaxCount;
    for await (const chunk of data) {
      size += chunk.byteLength;
      if (keep && size <= settings.photoMaxBytes) chunks.push(chunk);
    }
    // A file input left empty still sends a part without a name or bytes.
    if (!keep || (size === 0 && filename === "")) return null;
    if (size > settings.photoMaxBytes) {
      oversized = true;
      return null;
    }
    photos.push(Buffer.concat(chunks));
    return null;
  };
  let form: FormData;
  try {
    form = await unstable_parseMultipartFormData(request, unstable_composeUploadHandlers(photoHandler, unstable_createMemoryUploadHandler({ maxPartSize: TEXT_PART_MAX })));
  } catch (error) {
    if (error instanceof MaxPartSizeExceededError) throw badRequest("Payload Too Large: a form field is too long", 413);
    throw badRequest("Bad Request: expected a form");
  }
  try {
    await verifyCsrf(request, form);
  } catch (error) {
    if (error instanceof CsrfError) throw new Response(`Forbidden: ${error.message}\n`, { status: 403, headers: { "Content-Type": "text/plain" } });
    throw error;
  }
  return { form, photos, oversized };
}

function valuesOf(form: FormData): ReportValues {
  const attributes: Record<string, string[]> = {};
  for (const [name, value] of form.entries()) {
    if (!name.startsWith("attribute.") || typeof value !== "string") continue;
    (attributes[name.slice("attribute.".length)] ??= []).push(value);
  }
  return {
    description: text(form, "description"),
    address: text(form, "address"),
    latitude: text(form, "latitude"),
    longitude: text(form, "longitude"),
    email: text(form, "email"),
    attributes,
  };
}

/** A coordinate as typed ("48,8566" too); undefined when it is not a number. */
function coordinateOf(typed: string): number | null | undefined {
  const trimmed = typed.trim().replace(",", ".");
  if (trimmed === "") return null;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

const ATTRIBUTE_ERRORS: Record<AttributeDatatype, string> = {
  string: "reporting:form.errors.attributeText",
  text: "reporting:form.errors.attributeText",
  number: "reporting:form.errors.attributeNumber",
  datetime: "reporting:form.errors.attributeDatetime",
  singlevaluelist: "reporting:form.errors.attributeChoice",
  multivaluelist: "reporting:form.errors.attributeChoice",
};

/** The service's refusal, field by field, as messages a resident can act on in their language. */
function reportErrors(fields: Readonly<Record<string, readonly string[]>>, values: ReportValues, category: ServiceCategory | undefined, settings: ReportingSettings) {
  const errors: Record<string, FieldError> = {};
  for (const field of Object.keys(fields)) {
    if (field === "categoryCode" || field === "categoryId") errors.category = { key: "reporting:form.errors.category" };
    else if (field === "description") {
      errors.description = values.description.trim() === "" ? { key: "reporting:form.errors.descriptionMissing" } : { key: "reporting:form.errors.descriptionTooLong", values: { max: DESCRIPTION_MAX } };
    } else if (field === "latitude") errors.latitude = { key: "reporting:form.errors.latitude" };
    else if (field === "longitude") errors.longitude = { key: "reporting:form.errors.longitude" };
    else if (field === "address") errors.address = values.address.trim() === "" ? { key: "reporting:form.errors.locationMissing" } : { key: "reporting:form.errors.addressTooLong", values: { max: 500 } };
    else if (field === "email") errors.email = { key: "reporting:form.errors.email" };
    else if (field === "photos") errors.photos = photoError(settings);
    else if (field.startsWith("attributes.")) {
      const code = field.slice("attributes.".length);
      const attribute = category?.attributes.find((candidate) => candidate.code === code);
      const given = (values.attributes[code] ?? []).some((value) => value.trim() !== "");
      errors[`attribute.${code}`] = !attribute ? { key: "reporting:form.errors.generic" } : !given ? { key: "reporting:form.errors.attributeRequired" } : { key: ATTRIBUTE_ERRORS[attribute.datatype] };
    } else errors.form = { key: "reporting:form.errors.generic" };
  }
  return errors;
}

function photoError(settings: ReportingSettings): FieldError {
  return { key: "reporting:form.errors.photos", values: { max: settings.photoMaxCount, size: `${Math.round(settings.photoMaxBytes / 100_000) / 10} MB` } };
}

export async function sendReport(args: ActionFunctionArgs) {
  const page = await reportingPage(args);
  const { request } = args;
  const multipart = (request.headers.get("Content-Type") ?? "").startsWith("multipart/form-data");
  const { form, photos, oversized } = multipart ? await readMultipartForm(request, page.settings) : { form: await readCheckedForm(request), photos: [], oversized: false };
  if (text(form, "intent") !== "report") return badRequest("Bad Request: unknown intent");
  if (!mayReport(page)) {
    if (page.principal.kind === "anonymous") throw redirect(signInPath(page.basePath, request), { headers: NO_STORE });
    throw forbidden();
  }

  // Reports cost staff time and send mail: at most 20 from one address in 10 minutes.
  await limitAction(args.context, "reporting.report", 20, 600);
  const values = valuesOf(form);
  const code = text(form, "category").trim().toLowerCase();
  const refuse = (errors: Record<string, FieldError>) => json<ReportResult>({ kind: "invalid", errors, values }, { status: 400, headers: NO_STORE });
  const latitude = coordinateOf(values.latitude);
  const longitude = coordinateOf(values.longitude);
  const typing: Record<string, FieldError> = {};
  if (latitude === undefined) typing.latitude = { key: "reporting:form.errors.latitude" };
  if (longitude === undefined) typing.longitude = { key: "reporting:form.errors.longitude" };
  if (oversized) typing.photos = photoError(page.settings);
  if (Object.keys(typing).length > 0) return refuse(typing);

  try {
    const result = await reportIssue(
      page.principal,
      {
        categoryCode: code || null,
        description: values.description,
        latitude,
        longitude,
        address: values.address.trim() || null,
        attributes: Object.fromEntries(Object.entries(values.attributes).map(([key, list]) => [key, list.length === 1 ? list[0] : list.filter((value) => value !== "")])),
        email: page.principal.kind === "anonymous" ? values.email.trim() || null : null,
        photos,
        locale: page.locale,
        confirmNotDuplicate: text(form, "confirmNotDuplicate") === "1",
      },
      { ...page.service, source: "portal" },
    );
    if (result.kind === "duplicates") {
      return json<ReportResult>(
        {
          kind: "duplicates",
          values,
          hadPhotos: photos.length > 0,
          candidates: result.candidates.map((candidate) => ({
            trackingId: candidate.trackingId,
            status: candidate.status,
            description: candidate.description,
            address: candidate.address,
            distanceMeters: candidate.distanceMeters,
            createdAt: candidate.createdAt.toISOString(),
          })),
        },
        { headers: NO_STORE },
      );
    }
    return redirect(`${page.servicePath}/requests/${result.trackingId}?reported=1`, { status: 303, headers: NO_STORE });
  } catch (error) {
    if (error instanceof ValidationFailed) {
      const categories = await listServiceCategories(page.principal, {}, page.service);
      return refuse(reportErrors(error.fields, values, categories.find((category) => category.code === code), page.settings));
    }
    if (error instanceof Unauthenticated) throw redirect(signInPath(page.basePath, request), { headers: NO_STORE });
    if (error instanceof Forbidden) throw forbidden();
    throw error;
  }
}
