// /services/reporting/photos/{id}: a report's photo (re-encoded when it was sent, so without
// the phone's metadata). As public as the report; the same bytes forever under one id.
import type { LoaderFunctionArgs } from "@remix-run/node";
import { NotFound } from "../../../app/auth/errors";
import { ANONYMOUS } from "../../../app/auth/permissions";
import { requirePluginPage } from "../../../app/plugins/pages.server";
import { notFound } from "../../../app/tenancy/guard.server";
import { getPhoto } from "../photos.server";
import { REPORTING_PLUGIN_ID } from "../settings.server";

export async function loader({ context, params }: LoaderFunctionArgs) {
  const page = await requirePluginPage({ context, params }, REPORTING_PLUGIN_ID);
  try {
    const photo = await getPhoto(ANONYMOUS, { id: params.photoId ?? "" }, { tenantId: page.tenantId, requestId: context.requestId });
    return new Response(photo.bytes as Uint8Array<ArrayBuffer>, {
      headers: {
        "Content-Type": photo.contentType,
        "Content-Length": String(photo.bytes.byteLength),
        // A city that stops the service stops showing them within the hour.
        "Cache-Control": "public, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": "inline",
      },
    });
  } catch (error) {
    if (error instanceof NotFound) throw notFound();
    throw error;
  }
}
