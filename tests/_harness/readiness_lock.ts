/**
 * A request that stays in flight for as long as a test wants: hold a lock
 * the readiness query needs, and GET /health/ready waits in its handler
 * (on the database) without sending a byte until the lock is released.
 * Take it after the server started: its migrations need the same table.
 */

import postgres from "postgres";
import { waitFor } from "./server.ts";

export interface ReadinessLock {
  /** Resolves once some query (the readiness check) waits on the lock. */
  waitedOn(): Promise<void>;
  /** Lets the readiness query go on; resolves when the lock is gone. */
  release(): Promise<void>;
  /** Closes the two database connections (after release, or to give up). */
  end(): Promise<void>;
}

export async function holdReadinessLock(dbUri: string): Promise<ReadinessLock> {
  const blocker = postgres(dbUri, { max: 1, onnotice: () => {} });
  const observer = postgres(dbUri, { max: 1, onnotice: () => {} });
  const locked = Promise.withResolvers<void>();
  const released = Promise.withResolvers<void>();
  const holder = blocker.begin(async (tx) => {
    await tx`lock table schema_migrations in access exclusive mode`;
    locked.resolve();
    await released.promise;
  });
  holder.catch(locked.reject);
  await locked.promise;
  return {
    waitedOn: async () => {
      await waitFor("the readiness query to wait on the lock", async () => {
        const [{ waiting }] = await observer<{ waiting: number }[]>`
          select count(*)::int as waiting from pg_locks l join pg_class c on c.oid = l.relation
          where c.relname = 'schema_migrations' and not l.granted`;
        return waiting > 0 ? true : undefined;
      });
    },
    release: async () => {
      released.resolve();
      await holder;
    },
    end: async () => {
      released.resolve();
      await holder.catch(() => {});
      await blocker.end();
      await observer.end();
    },
  };
}
