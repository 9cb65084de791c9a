/**
 * The deploy area's writes that other parts of despacito must hear about
 * (SSE, the forge's statuses, metrics, waiting runners): each records in
 * the database and, once that committed, publishes the events it recorded
 * on the deploy bus — in one call, so no caller can write and forget to
 * publish, or publish what was never written (src/events/publishing.ts).
 * Every write here owns its transaction.
 */

import type { Sql } from "../db/connect.ts";
import type { Bus } from "../events/bus.ts";
import { publishing } from "../events/publishing.ts";
import type { DeploymentStatus } from "./deployment.ts";
import {
  appendLog,
  appendLogs,
  changeDeployment,
  claimNext,
  type DeployEvent,
  type DeploymentPatch,
  enqueue,
  type LogStream,
  type NewDeployment,
  recordDeployed,
} from "./store.ts";

export function deployWrites(sql: Sql, bus: Bus<DeployEvent>, o: { queueLimit?: number } = {}) {
  return publishing(bus, {
    /** Log lines in one statement, each with the deployment's next sequence number. */
    logs: async (id: string, lines: readonly { stream: LogStream; line: string }[]) => ({
      events: await appendLogs(sql, id, lines),
    }),
    /** A log line with the deployment's next sequence number. */
    log: async (id: string, stream: LogStream, line: string) => {
      const event = await appendLog(sql, id, stream, line);
      return { event, events: [event] };
    },
    /** A status change (with its status event); undefined when not in one of `from`. */
    change: async (id: string, from: readonly DeploymentStatus[], patch: DeploymentPatch) => {
      const c = await changeDeployment(sql, id, from, patch);
      return c && { ...c, events: [c.event] };
    },
    /** The final record of a running deployment, and its package's state when deployed. */
    finish: async (id: string, patch: DeploymentPatch) => {
      const c = await sql.begin(async (tx) => {
        const c = await changeDeployment(tx, id, ["running"], patch);
        if (c && c.row.status === "deployed") await recordDeployed(tx, c.row);
        return c;
      });
      return c && { ...c, events: [c.event] };
    },
    /** The oldest queued deployment, now running. */
    claim: async () => {
      const c = await claimNext(sql);
      return c && { ...c, events: [c.event] };
    },
    /** Admission: queued (superseding older queued ones), or the live one. */
    enqueue: (req: NewDeployment) => enqueue(sql, req, { queueLimit: o.queueLimit }),
  });
}

export type DeployWrites = ReturnType<typeof deployWrites>;
