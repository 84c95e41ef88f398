-- City roles a person holds through their identity provider (realm roles city-staff and
-- city-admin), as of their last sign-in. Civitas grants roles through memberships; these come
-- from the realm, so they are recorded here to be shown next to memberships, and every change
-- is an audit event (membership.provider_roles_changed).
ALTER TABLE "users" ADD COLUMN "provider_roles" "member_role"[] DEFAULT ARRAY[]::"member_role"[];
