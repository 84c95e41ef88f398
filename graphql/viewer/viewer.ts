// Who is asking: a person of this city (with their roles and permissions here), one of its API
// clients, or an operator of the instance (on the platform's address).
import { builder } from "../builder";
import { cityKey, CityRoleEnum, Member } from "../members/members";
import type { Principal } from "../../app/auth/permissions";

const ViewerKind = builder.enumType("ViewerKind", { values: ["USER", "CLIENT", "OPERATOR"] as const });

type SignedIn = Exclude<Principal, { kind: "anonymous" }>;

const Viewer = builder.objectRef<SignedIn>("Viewer").implement({
  fields: (t) => ({
    kind: t.field({
      type: ViewerKind,
      resolve: (principal) => ({ user: "USER", client: "CLIENT", operator: "OPERATOR" } as const)[principal.kind],
    }),
    member: t.prismaField({
      type: Member,
      nullable: true,
      description: "The person, when a person is asking (not an API client or an operator).",
      resolve: (query, principal, _args, context) =>
        principal.kind === "user" ? context.db().user.findUnique({ ...query, where: cityKey(context, principal.userId) }) : null,
    }),
    roles: t.field({
      type: [CityRoleEnum],
      description: "Roles at this city (empty for API clients and operators).",
      resolve: (principal) => (principal.kind === "user" ? [...principal.roles] : []),
    }),
    scopes: t.stringList({
      description: "An API client's scopes (read, write).",
      resolve: (principal) => (principal.kind === "client" ? [...principal.scopes] : []),
    }),
    permissions: t.stringList({
      description: "What the caller may do here, as permission ids (sorted).",
      resolve: (principal) => [...principal.permissions].sort(),
    }),
  }),
});

builder.queryField("viewer", (t) =>
  t.field({
    type: Viewer,
    description: "The caller. UNAUTHENTICATED without a valid bearer token.",
    authScopes: { authenticated: true },
    resolve: (_root, _args, context) => context.principal as SignedIn,
  }),
);
