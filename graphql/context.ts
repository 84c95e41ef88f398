// What every resolver gets: who is asking, for which city, in which language, and the request's
// unit of work. The principal and the transaction are filled in when execution starts (yoga.ts
// opens the unit of work around it); before that they are the anonymous caller and nothing.
import { GraphQLError } from "graphql";
import { NotFound } from "../app/auth/errors";
import { ANONYMOUS, type Principal } from "../app/auth/permissions";
import type { ServiceContext } from "../app/auth/principal.server";
import type { VerifiedToken } from "../app/auth/verify.server";
import type { Database, Tx } from "../app/db/database.server";
import type { Identity } from "../app/identity/identity.server";
import type { ResolvedCity } from "../app/tenancy/resolve.server";

export type GraphQLContext = {
  requestId: string;
  /** The city of the host or `/{slug}` path; null on the platform host. */
  city: ResolvedCity | null;
  /** The language of city-written text when a field is not asked for one (Accept-Language). */
  locale: string;
  /** The bearer token, verified for this city (or the platform realm); null without one. */
  token: VerifiedToken | null;
  principal: Principal;
  /** The request's transaction: bound to the city (RLS), or platform administration for operators. */
  db(): Tx;
  /** What the service functions take besides the principal and their input. */
  service: ServiceContext;
  identity: Identity;
  database: Database | undefined;
  /**
   * Set when execution starts: the transaction, when the time limit passes (ms since the epoch),
   * how savepoints are named, what runs once it committed.
   */
  unitOfWork: { tx: Tx | null; deadline: number; savepoints: number; afterCommit: (() => Promise<void> | void)[] };
};

export type ContextInput = {
  requestId: string;
  city: ResolvedCity | null;
  locale: string;
  token: VerifiedToken | null;
  identity: Identity;
  database?: Database;
};

export function createContext(input: ContextInput): GraphQLContext {
  const unitOfWork: GraphQLContext["unitOfWork"] = { tx: null, deadline: Infinity, savepoints: 0, afterCommit: [] };
  return {
    ...input,
    database: input.database,
    principal: ANONYMOUS,
    unitOfWork,
    db() {
      // Only the platform host without an operator has no unit of work: there is nothing to read.
      if (!unitOfWork.tx) throw new NotFound("city");
      // PGlite answers without yielding to timers: the time limit is also checked here.
      if (Date.now() > unitOfWork.deadline) throw timedOut();
      return unitOfWork.tx;
    },
    service: {
      tenantId: input.city?.id,
      requestId: input.requestId,
      database: input.database,
      afterCommit: (work) => void unitOfWork.afterCommit.push(work),
    },
  };
}

export function timedOut(): GraphQLError {
  return new GraphQLError("The operation took too long and was stopped; nothing it did was kept.", {
    extensions: { code: "TIMEOUT", http: { status: 504 } },
  });
}

/**
 * Runs one mutation field so that, when it fails, whatever it wrote is undone and the rest of the
 * request's transaction stands (GraphQL answers each root mutation field on its own).
 */
export async function atomically<T>(context: GraphQLContext, work: () => Promise<T>): Promise<T> {
  const { tx } = context.unitOfWork;
  if (!tx) return work();
  const name = `mutation_${(context.unitOfWork.savepoints += 1)}`;
  const registered = context.unitOfWork.afterCommit.length;
  await tx.$executeRawUnsafe(`SAVEPOINT ${name}`);
  try {
    const result = await work();
    await tx.$executeRawUnsafe(`RELEASE SAVEPOINT ${name}`);
    return result;
  } catch (error) {
    await tx.$executeRawUnsafe(`ROLLBACK TO SAVEPOINT ${name}`);
    // What the undone work asked to run after the commit is undone with it.
    context.unitOfWork.afterCommit.length = registered;
    throw error;
  }
}
