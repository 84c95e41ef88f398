// The schema: every module adds its types and fields to the builder; this file imports them all
// and builds it once. `npm run graphql:schema` prints it to graphql/schema.graphql.
import { lexicographicSortSchema } from "graphql";
import { builder } from "./builder";
import "./city/city";
import "./city/settings";
import "./viewer/viewer";
import "./members/members";
import "./members/invitations";
import "./api/api-clients";
import "./audit/audit";
import "./platform/platform";

export const schema = lexicographicSortSchema(builder.toSchema());
