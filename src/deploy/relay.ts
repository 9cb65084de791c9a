/**
 * Deployment events across instances (DESPACITO_HA): every event this
 * instance publishes on its bus is announced with NOTIFY (deployment id and
 * seq, never the content); every other instance LISTENs, reads the new
 * entries from deployment_log and publishes them on its own bus, so SSE
 * streams and waiting webhooks on a follower see the leader's deployment
 * exactly as the leader's clients do. The record in PostgreSQL stays the
 * only source: a lost notification only delays lines until the next one
 * (SSE refills gaps from the table). Also carries the one request only the
 * leader can answer, a Promote (its gates are in memory), and the answer.
 */

import type { Sql } from "../db/connect.ts";
import type { Bus } from "../events/bus.ts";
import type { Logger } from "../log/log.ts";
import { type DeploymentStatus, TERMINAL } from "./deployment.ts";
import { type DeployEvent, getDeployment, logEntries } from "./store.ts";

const CHANNEL = "despacito_deploy";
const ASK = "despacito_ask";
const ASK_TIMEOUT_MS = 5_000;

interface Note {
  /** The instance that published the event. */
  i: string;
  /** Deployment id and the event's seq. */
  d: string;
  s: number;
}

/** A follower's request only the leader can answer (its gates are in memory). */
export interface Ask {
  promote: string;
  by: string;
}

export interface Relay {
  start(): Promise<void>;
  /** Asks whichever instance can answer; false when none said yes within a few seconds. */
  askLeader(q: Ask): Promise<boolean>;
  stop(): Promise<void>;
}

export function createRelay(o: {
  sql: Sql;
  bus: Bus<DeployEvent>;
  instance: string;
  log: Logger;
  /** Called for every event of another instance (the leader's worker wakes for a new request). */
  onForeign?: () => void;
  /** Answers another instance's request; undefined: not this instance's to answer (a follower). */
  onAsked?: (q: Ask) => boolean | undefined;
  /** Called for each event of another instance once it is on this bus. */
  onRelayed?: (e: DeployEvent) => void;
}): Relay {
  const log = o.log.child({ component: "deploy-relay" });
  const relayed = new WeakSet<DeployEvent>();
  const seen = new Map<string, number>();
  const chains = new Map<string, Promise<void>>();
  let off: (() => void) | undefined;
  let unlisten: (() => Promise<void>) | undefined;
  let unlistenAsk: (() => Promise<void>) | undefined;
  const asked = new Map<string, (ok: boolean) => void>();

  /** Publishes what `id` logged after the last seq seen here, in order. */
  const pull = async (id: string, upTo: number) => {
    const after = seen.get(id) ?? upTo - 1;
    if (upTo <= after) return;
    for (const e of await logEntries(o.sql, id, after)) {
      let ev: DeployEvent;
      if (e.stream === "status") {
        const row = await getDeployment(o.sql, id);
        if (!row) return;
        ev = { type: "status", deploymentId: id, seq: e.seq, deployment: row };
        const status = (e.data as { status?: DeploymentStatus } | null)?.status ?? e.line;
        if (TERMINAL.has(status as DeploymentStatus)) seen.delete(id);
        else seen.set(id, e.seq);
      } else {
        ev = {
          type: "log",
          deploymentId: id,
          seq: e.seq,
          stream: e.stream,
          line: e.line,
          at: e.at,
        };
        seen.set(id, e.seq);
      }
      relayed.add(ev);
      o.bus.publish(ev);
      o.onRelayed?.(ev);
    }
  };

  return {
    async start() {
      const l = await o.sql.listen(CHANNEL, (payload) => {
        let n: Note;
        try {
          n = JSON.parse(payload);
        } catch {
          return;
        }
        if (n.i === o.instance) return;
        o.onForeign?.();
        const next = (chains.get(n.d) ?? Promise.resolve())
          .then(() => pull(n.d, n.s))
          .catch((e) =>
            log.warn("cannot relay another instance's deployment events", { error: e })
          );
        chains.set(n.d, next);
        next.then(() => {
          if (chains.get(n.d) === next) chains.delete(n.d);
        });
      });
      unlisten = l.unlisten;
      // Requests {id, from, q} and the leader's answers {id, ok}.
      const a = await o.sql.listen(ASK, (payload) => {
        let m: { id: string; from?: string; q?: Ask; ok?: boolean };
        try {
          m = JSON.parse(payload);
        } catch {
          return;
        }
        if (m.q) {
          const ok = m.from === o.instance ? undefined : o.onAsked?.(m.q);
          if (ok === undefined) return;
          o.sql`select pg_notify(${ASK}, ${JSON.stringify({ id: m.id, ok })})`.catch(() => {});
        } else if (typeof m.ok === "boolean") asked.get(m.id)?.(m.ok);
      });
      unlistenAsk = a.unlisten;
      off = o.bus.subscribe((e) => {
        if (relayed.has(e)) return;
        const note: Note = { i: o.instance, d: e.deploymentId, s: e.seq };
        o.sql`select pg_notify(${CHANNEL}, ${JSON.stringify(note)})`.catch((err) =>
          log.debug("cannot announce a deployment event", { error: err })
        );
      });
    },
    askLeader(q) {
      const id = crypto.randomUUID();
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => done(false), ASK_TIMEOUT_MS);
        const done = (ok: boolean) => {
          clearTimeout(timer);
          asked.delete(id);
          resolve(ok);
        };
        asked.set(id, done);
        o.sql`select pg_notify(${ASK}, ${JSON.stringify({ id, from: o.instance, q })})`
          .catch(() => done(false));
      });
    },
    async stop() {
      off?.();
      await unlisten?.().catch(() => {});
      await unlistenAsk?.().catch(() => {});
      await Promise.all(chains.values());
    },
  };
}
