/**
 * The deploy area's writes that other parts of despacito must hear about
 * (SSE, the forge's statuses, metrics, waiting runners): each records in
 * the database and, once that committed, publishes the events it recorded
 * on the deploy bus — in one call, so no caller can write and forget to
 * publish, or publish what was never written (src/events/publishing.ts).
 * Every write here is one statement (its own transaction).
 */

import type { Sql } from "../db/connect.ts";
import type { Bus } from "../events/bus.ts";
import { publishing } from "../events/publishing.ts";
import type { DeploymentStatus } from "./deployment.ts";
import type { NodeStateWrite } from "./fleet_store.ts";
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
    /**
     * A status change (with its status event), after `lines` (log lines that precede it)
     * in the same statement; undefined, and nothing written, when not in one of `from`.
     */
    change: async (
      id: string,
      from: readonly DeploymentStatus[],
      patch: DeploymentPatch,
      lines: readonly { stream: LogStream; line: string }[] = [],
      /** Node states in the same statement (what colmena activated just before). */
      nodeStates?: NodeStateWrite[],
    ) => await changeDeployment(sql, id, from, patch, { lines, nodeStates }),
    /**
     * The final record of a running deployment after `lines`, and its package's state
     * when deployed: one statement, so the state is never recorded without the outcome.
     */
    finish: async (
      id: string,
      patch: DeploymentPatch,
      lines: readonly { stream: LogStream; line: string }[] = [],
      nodeStates?: NodeStateWrite[],
    ) =>
      await changeDeployment(sql, id, ["running"], patch, {
        lines,
        recordState: true,
        nodeStates,
      }),
    /** The oldest queued deployment, now running; or the rows left running, to recover. */
    claim: async () => await claimNext(sql),
    /** Admission: queued (superseding older queued ones), or the live one. */
    enqueue: (req: NewDeployment) => enqueue(sql, req, { queueLimit: o.queueLimit }),
  });
}

export type DeployWrites = ReturnType<typeof deployWrites>;
