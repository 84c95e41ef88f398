// oidc-provider's storage for one realm: sessions, interactions, codes, refresh tokens, grants
// and the rest in identity_payloads, keyed by (realm, model, id). Clients are not stored here:
// the provider asks `findClient` (the realm's two clients come from its spec, machine clients
// from identity_clients).
import type { Adapter, AdapterPayload } from "oidc-provider";
import { withPlatformAdmin, type Database } from "../../db/database.server";
import type { Prisma } from "../../db/generated/client.ts";

export type ClientLookup = (clientId: string) => Promise<AdapterPayload | undefined>;

// Expired rows are swept by whichever write comes first after this interval, so the table does
// not grow with abandoned sign-ins, without a timer to stop at shutdown.
const SWEEP_INTERVAL_MS = 60_000;
const sweeps = new WeakMap<object, number>();
const NO_DATABASE = {};

async function sweepExpired(database: Database | undefined): Promise<void> {
  const key = database ?? NO_DATABASE;
  const last = sweeps.get(key) ?? 0;
  if (Date.now() - last < SWEEP_INTERVAL_MS) return;
  sweeps.set(key, Date.now());
  await withPlatformAdmin((tx) => tx.identityPayload.deleteMany({ where: { expiresAt: { lt: new Date() } } }), database);
}

const epoch = (date: Date) => Math.floor(date.getTime() / 1000);

type StoredRow = { payload: Prisma.JsonValue; consumedAt: Date | null };

function toPayload(row: StoredRow | null): AdapterPayload | undefined {
  if (!row || typeof row.payload !== "object" || row.payload === null || Array.isArray(row.payload)) return undefined;
  const payload = { ...(row.payload as AdapterPayload) };
  if (row.consumedAt) payload.consumed = epoch(row.consumedAt);
  return payload;
}

const notExpired = () => ({ OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] });

export class PayloadAdapter implements Adapter {
  readonly #realm: string;
  readonly #model: string;
  readonly #database: Database | undefined;
  readonly #findClient: ClientLookup;

  constructor(options: { realm: string; model: string; database?: Database; findClient: ClientLookup }) {
    this.#realm = options.realm;
    this.#model = options.model;
    this.#database = options.database;
    this.#findClient = options.findClient;
  }

  #work<T>(work: Parameters<typeof withPlatformAdmin<T>>[0]): Promise<T> {
    return withPlatformAdmin(work, this.#database);
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    if (this.#model === "Client") throw new Error("Clients of the embedded provider are not stored through oidc-provider.");
    const key = { realm: this.#realm, model: this.#model, id };
    const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
    // JSON round trip: drops undefined members, which JSONB cannot hold.
    const json = JSON.parse(JSON.stringify(payload)) as Prisma.InputJsonObject;
    const columns = {
      payload: json,
      grantId: typeof payload.grantId === "string" ? payload.grantId : null,
      uid: typeof payload.uid === "string" ? payload.uid : null,
      userCode: typeof payload.userCode === "string" ? payload.userCode : null,
      expiresAt,
    };
    await this.#work((tx) =>
      tx.identityPayload.upsert({
        where: { realm_model_id: key },
        create: { ...key, ...columns },
        // A consumed code or token stays consumed whatever is written over it.
        update: columns,
      }),
    );
    await sweepExpired(this.#database);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (this.#model === "Client") return this.#findClient(id);
    return this.#findOne({ id });
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#findOne({ uid });
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#findOne({ userCode });
  }

  /** This realm's and model's one live row matching `by`. */
  async #findOne(by: { id: string } | { uid: string } | { userCode: string }): Promise<AdapterPayload | undefined> {
    const row = await this.#work((tx) =>
      tx.identityPayload.findFirst({
        where: { realm: this.#realm, model: this.#model, ...by, ...notExpired() },
        select: { payload: true, consumedAt: true },
      }),
    );
    return toPayload(row);
  }

  async consume(id: string): Promise<void> {
    await this.#work((tx) =>
      tx.identityPayload.updateMany({
        where: { realm: this.#realm, model: this.#model, id, consumedAt: null },
        data: { consumedAt: new Date() },
      }),
    );
  }

  async destroy(id: string): Promise<void> {
    await this.#work((tx) => tx.identityPayload.deleteMany({ where: { realm: this.#realm, model: this.#model, id } }));
  }

  /** Everything issued under a grant (codes, tokens of any kind) goes at once. */
  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#work((tx) => tx.identityPayload.deleteMany({ where: { realm: this.#realm, grantId } }));
  }
}
