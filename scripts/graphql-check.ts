// `npm run graphql:check`: the schema built from the code against the contract committed at a git
// base (GRAPHQL_BASE_REF, default HEAD): prints every change with its criticality and fails on
// breaking ones, unless `--allow-breaking` says the break is intended (announce it to the
// cities' developers first). CI sets the base to the target branch of the change.
import { execFileSync } from "node:child_process";
import { schema } from "../graphql/schema";
import { compareSchemas, formatChange, isBreaking } from "./graphql-diff";

const FILE = "graphql/schema.graphql";
const ref = process.env.GRAPHQL_BASE_REF || "HEAD";
const allowBreaking = process.argv.includes("--allow-breaking");

const git = (...args: string[]) => execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

try {
  git("rev-parse", "--verify", "--quiet", `${ref}^{commit}`);
} catch {
  console.error(`graphql:check: ${ref} is not a commit here (GRAPHQL_BASE_REF).`);
  process.exit(2);
}
let committed: string;
try {
  committed = git("show", `${ref}:${FILE}`);
} catch {
  console.log(`graphql:check: ${FILE} does not exist at ${ref}: nothing to compare with, no breaking change possible.`);
  process.exit(0);
}

const changes = await compareSchemas(committed, schema);
for (const change of changes) console.log(formatChange(change));
const breaking = changes.filter(isBreaking).length;
console.log(`graphql:check: ${changes.length} change(s) since ${ref}, ${breaking} breaking.`);
if (breaking > 0 && !allowBreaking) {
  console.error("Breaking changes fail the check: keep the old fields (deprecate them), or pass --allow-breaking if the break is intended.");
  process.exit(1);
}
