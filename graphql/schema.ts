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
import "./services/services";
import "./federation/peers";
import "./federation/components";
import "./federation/datasets";
import { PLUGINS } from "../plugins/catalogue";
import { addPluginGraphQL, checkPluginGates } from "./plugins";

// The catalogue's plugins add theirs last: they build on the core's types.
await addPluginGraphQL(PLUGINS);

export const schema = lexicographicSortSchema(builder.toSchema());
checkPluginGates(schema);
