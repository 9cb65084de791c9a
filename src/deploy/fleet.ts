/**
 * The fleet view's moving part: drift checks on request and, with
 * DESPACITO_DRIFT_INTERVAL, periodically. One check at a time (a request
 * during a check gets that check's result); its colmena runs go through the
 * deploy area's colmena lock, so a check never runs beside a deployment's
 * activation — it waits. Every check is recorded (node_check) and updates
 * each node's latest view (node_state).
 */

import type { Sql } from "../db/connect.ts";
import type { Executor } from "../exec/run.ts";
import type { Logger } from "../log/log.ts";
import { checkFleet, type NodeCheck } from "./drift.ts";
import { recordNodeChecks } from "./fleet_store.ts";

export interface Fleet {
  refresh(): Promise<NodeCheck[]>;
  start(): void;
  stop(): void;
}

export function createFleet(o: {
  sql: Sql;
  exec: Executor;
  colmenaBin: string;
  flakeDir: string;
  intervalMs?: number;
  timeoutMs: number;
  log: Logger;
}): Fleet {
  const log = o.log.child({ component: "drift" });
  let inFlight: Promise<NodeCheck[]> | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  const refresh = () =>
    inFlight ??= (async () => {
      try {
        const checks = await checkFleet({ ...o, log });
        await recordNodeChecks(o.sql, new Date(), checks);
        const drifted = checks.filter((c) => c.drift).map((c) => c.node);
        const away = checks.filter((c) => !c.reachable).map((c) => c.node);
        log.info("drift check", { nodes: checks.length, drifted, unreachable: away });
        return checks;
      } finally {
        inFlight = undefined;
      }
    })();
  return {
    refresh,
    start() {
      if (!o.intervalMs) return;
      timer = setInterval(() => {
        refresh().catch((e) => log.warn("drift check failed", { error: e }));
      }, o.intervalMs);
    },
    stop: () => clearInterval(timer),
  };
}
