/**
 * The leader lease of several despacito instances on one PostgreSQL
 * database (DESPACITO_HA): a session-level advisory lock held on one
 * dedicated connection. Exactly the instance holding it runs deployments;
 * the others serve the API, UI and SSE and try again every few seconds.
 * PostgreSQL releases the lock when the holder's session ends: at once when
 * its process dies, within the TCP keepalive window (set here, ~25 s) when
 * its host is lost. A leader that loses its session can no longer prove it
 * leads: `onLost` is called (the area ends the process, and with it, under
 * systemd, its colmena). Which instance leads is read from pg_locks and the
 * holder's application_name. Knows nothing of deployments.
 */

import type { Sql } from "../db/connect.ts";
import type { Logger } from "../log/log.ts";

/** "despacito leader" as a 64-bit advisory lock key (migrations use their own key). */
const LEASE = 0x64657370_6c656164n;
const LEASE_KEY = LEASE.toString();
// How pg_locks shows a bigint key: its high and low 32 bits.
const CLASSID = Number(LEASE >> 32n);
const OBJID = Number(LEASE & 0xffffffffn);
const NAME_PREFIX = "despacito:";

export interface Leadership {
  readonly instance: string;
  isLeader(): boolean;
  /** The instance holding the lease now (null: none). */
  leader(): Promise<string | null>;
  /** Campaigns until elected (then `onElected`), then watches the session (`onLost`). */
  start(o: { onElected(): Promise<void>; onLost(reason: string): void }): void;
  stop(): Promise<void>;
}

export function createLeadership(o: {
  sql: Sql;
  instance: string;
  log: Logger;
  /** How often a follower tries and a leader checks its session. */
  intervalMs?: number;
}): Leadership {
  const every = o.intervalMs ?? 2_000;
  const log = o.log.child({ component: "deploy-lease", instance: o.instance });
  let conn: Awaited<ReturnType<Sql["reserve"]>> | undefined;
  let leading = false;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let loop: Promise<void> = Promise.resolve();

  const release = () => {
    conn?.release();
    conn = undefined;
  };

  /** One attempt: a fresh session takes the lock or is given back. */
  const campaign = async (): Promise<boolean> => {
    conn ??= await o.sql.reserve();
    // A silent host must not keep the lease for hours: the server probes this session.
    await conn`select set_config('tcp_keepalives_idle', '10', false),
      set_config('tcp_keepalives_interval', '5', false),
      set_config('tcp_keepalives_count', '3', false),
      set_config('application_name', ${NAME_PREFIX + o.instance}, false)`;
    const [r] = await conn<
      { ok: boolean }[]
    >`select pg_try_advisory_lock(${LEASE_KEY}::bigint) as ok`;
    if (!r.ok) release();
    return r.ok;
  };

  /** The session is alive and still holds the lock. */
  const holds = async (): Promise<boolean> => {
    if (!conn) return false;
    const check = conn<{ n: number }[]>`select count(*)::int as n from pg_locks
      where locktype = 'advisory' and pid = pg_backend_pid() and granted
        and objid = ${OBJID} and classid = ${CLASSID}`;
    let t: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error("the lease session did not answer")), every * 3);
    });
    try {
      const [r] = await Promise.race([check, late]);
      return r.n === 1;
    } finally {
      clearTimeout(t);
    }
  };

  let wake: (() => void) | undefined;
  const tick = () =>
    new Promise<void>((r) => {
      wake = r;
      timer = setTimeout(r, every);
    });

  return {
    instance: o.instance,
    isLeader: () => leading,
    async leader() {
      const [r] = await o.sql<{ name: string | null }[]>`
        select a.application_name as name from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted
          and l.objid = ${OBJID}
          and l.classid = ${CLASSID}`;
      const name = r?.name ?? null;
      return name?.startsWith(NAME_PREFIX) ? name.slice(NAME_PREFIX.length) : name;
    },
    start(cb) {
      loop = (async () => {
        while (!stopped && !leading) {
          try {
            if (await campaign()) {
              leading = true;
              log.info("this instance leads: it runs the deployments");
              await cb.onElected();
              break;
            }
          } catch (e) {
            release();
            log.warn("cannot campaign for the lease; trying again", { error: e });
          }
          await tick();
        }
        while (!stopped && leading) {
          await tick();
          if (stopped) break;
          const ok = await holds().catch((e) => {
            log.error("the lease session failed", { error: e });
            return false;
          });
          if (!ok && !stopped) {
            leading = false;
            cb.onLost("the leader lease was lost (its database session ended)");
          }
        }
      })();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await loop;
      if (conn && leading) {
        await conn`select pg_advisory_unlock(${LEASE_KEY}::bigint)`.catch(() => {});
      }
      leading = false;
      release();
    },
  };
}
