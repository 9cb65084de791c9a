/**
 * GET /api/deployments/:id/events: the deployment's log lines and status
 * changes as Server-Sent Events, `id:` being the per-deployment sequence
 * number. Resuming from Last-Event-ID (or ?last_event_id=) is gap-free and
 * repeat-free: subscribe to the bus first, replay from Postgres, then send
 * live events whose seq follows the last one sent, refilling from Postgres
 * whenever a live event skips ahead. After a terminal status: `end`, close.
 *
 * Fan-out is cheap: a live event is turned into its SSE frame once, however
 * many subscribers send it (the bus hands each the same object), and a
 * subscriber waits on one Promise per wake-up with one heartbeat timer for
 * its whole life.
 */

import { streamSSE } from "hono/streaming";
import { DomainError, invalidRequest } from "../core/errors.ts";
import type { Sql } from "../db/connect.ts";
import type { Bus } from "../events/bus.ts";
import type { RouteDef } from "../http/types.ts";
import { deploymentJson, type DeploymentStatus, TERMINAL } from "./deployment.ts";
import { type DeployEvent, getDeployment, logEntries, type LogEntry } from "./store.ts";

const HEARTBEAT_MS = 15_000;

interface Outgoing {
  seq: number;
  /** The whole SSE frame (event, data, id), as hono's writeSSE would write it. */
  frame: string;
  terminal: boolean;
}

/** JSON.stringify never emits a line break, so the data is one `data:` line. */
const frameOf = (event: string, data: unknown, seq: number) =>
  `event: ${event}\ndata: ${JSON.stringify(data)}\nid: ${seq}\n\n`;

function fromEntry(e: LogEntry): Outgoing {
  if (e.stream === "status") {
    const status = (e.data as { status?: DeploymentStatus } | null)?.status ?? e.line;
    return {
      seq: e.seq,
      frame: frameOf("status", e.data, e.seq),
      terminal: TERMINAL.has(status as DeploymentStatus),
    };
  }
  return {
    seq: e.seq,
    frame: frameOf(
      "log",
      { seq: e.seq, stream: e.stream, line: e.line, at: e.at.toISOString() },
      e.seq,
    ),
    terminal: false,
  };
}

function fromEvent(e: DeployEvent): Outgoing {
  if (e.type === "status") {
    return {
      seq: e.seq,
      frame: frameOf("status", { ...deploymentJson(e.deployment), seq: e.seq }, e.seq),
      terminal: TERMINAL.has(e.deployment.status),
    };
  }
  return {
    seq: e.seq,
    frame: frameOf(
      "log",
      { seq: e.seq, stream: e.stream, line: e.line, at: e.at.toISOString() },
      e.seq,
    ),
    terminal: false,
  };
}

export function sseRoute<P>(
  deps: { sql: Sql; bus: Bus<DeployEvent>; stopping: AbortSignal },
): RouteDef<P> {
  // Every subscriber of a deployment gets the same event object from the bus: one frame for all.
  const frames = new WeakMap<DeployEvent, Outgoing>();
  const shared = (e: DeployEvent) => {
    let o = frames.get(e);
    if (!o) frames.set(e, o = fromEvent(e));
    return o;
  };
  return {
    method: "GET",
    path: "/api/deployments/:id/events",
    access: "authenticated",
    summary: "live log lines and status changes (SSE; resumes from Last-Event-ID)",
    handler: async (c) => {
      const raw = c.req.header("last-event-id") ?? c.req.query("last_event_id") ?? "0";
      if (!/^\d{1,15}$/.test(raw)) {
        throw invalidRequest([{ field: "last_event_id", message: "a sequence number" }]);
      }
      const row = await getDeployment(deps.sql, c.req.param("id") ?? "");
      if (!row) throw new DomainError("not_found", "deployment_not_found", "no such deployment");
      const id = row.id;

      return streamSSE(c, async (stream) => {
        const pending: DeployEvent[] = [];
        let wake: (() => void) | undefined;
        const notify = () => {
          wake?.();
          wake = undefined;
        };
        const off = deps.bus.subscribe((e) => {
          if (e.deploymentId !== id) return;
          pending.push(e);
          notify();
        });
        const closed = AbortSignal.any([c.req.raw.signal, deps.stopping]);
        closed.addEventListener("abort", notify);
        let last = Number(raw);
        let ended = false;
        let quiet = true;
        // A comment line now and then keeps proxies from closing a quiet stream.
        const heartbeat = setInterval(() => {
          if (quiet && !ended && !closed.aborted) stream.write(": keepalive\n\n").catch(() => {});
          quiet = true;
        }, HEARTBEAT_MS);
        const send = async (o: Outgoing) => {
          if (o.seq <= last || ended) return;
          quiet = false;
          await stream.write(o.frame);
          last = o.seq;
          if (o.terminal) {
            ended = true;
            await stream.writeSSE({ event: "end", data: "{}" });
          }
        };
        const replay = async () => {
          for (;;) {
            const page = await logEntries(deps.sql, id, last, 1000);
            for (const e of page) await send(fromEntry(e));
            if (page.length < 1000 || ended) return;
          }
        };
        try {
          await replay();
          while (!ended && !closed.aborted) {
            if (pending.length === 0) {
              await new Promise<void>((resolve) => wake = resolve);
              continue;
            }
            for (const e of pending.splice(0)) {
              if (e.seq <= last) continue;
              // Something was published out of order or before we subscribed: fill from the record.
              if (e.seq > last + 1) await replay();
              await send(shared(e));
            }
          }
        } finally {
          clearInterval(heartbeat);
          off();
          closed.removeEventListener("abort", notify);
        }
      });
    },
  };
}
