/**
 * Outbound notifications on deployment events. A status change becomes one
 * `notification` row per matching target (durable before any sending), and
 * a background loop delivers due rows with retries and backoff, recording
 * every attempt. Nothing here can delay or fail a deployment: the status
 * subscriber only starts a database insert, and sending happens in the
 * loop, never on the deployment's path.
 */

import type { Sql } from "../db/connect.ts";
import type { Logger } from "../log/log.ts";
import {
  NotifyConfigError,
  type NotifyEvent,
  parseSecrets,
  parseTargets,
  type Target,
} from "./notify_config.ts";
import { type NotifyPayload, sendOnce } from "./notify_send.ts";
import {
  claimDue,
  createNotification,
  type DueNotification,
  recordAttempt,
} from "./notify_store.ts";

/** What the notifier needs of a deployment status change (deploy's status port gives it). */
export interface DeploymentChange {
  deploymentId: string;
  package: string;
  version: string;
  status: string;
  error?: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface NotifierOptions {
  sql: Sql;
  log: Logger;
  configFile: string | undefined;
  secrets: string | undefined;
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
  baseUrl: string | undefined;
  userAgent: string;
}

const EVENT_OF: Record<string, NotifyEvent | undefined> = {
  queued: "queued",
  running: "started",
  deployed: "deployed",
  failed: "failed",
  interrupted: "failed",
  cancelled: "cancelled",
};
const MAX_BACKOFF_MS = 10 * 60_000;
const IDLE_POLL_MS = 1_000;

export interface Notifier {
  readonly targets: readonly Target[];
  /** Records the event of a status change (or `event`: rolled_back, held) for every target. */
  handle(e: DeploymentChange, event?: NotifyEvent): void;
  start(): void;
  stop(deadline: AbortSignal): Promise<void>;
}

async function readTargets(o: NotifierOptions): Promise<{ targets: Target[]; key: string }> {
  if (!o.configFile) return { targets: [], key: "" };
  const s = await Deno.stat(o.configFile);
  const key = `${s.mtime?.getTime()}:${s.size}:${s.ino}`;
  const text = await Deno.readTextFile(o.configFile);
  return { targets: await parseTargets(text, parseSecrets(o.secrets)), key };
}

/** Reads the targets once; a bad `notifications` list stops startup (NotifyConfigError). */
export async function createNotifier(o: NotifierOptions): Promise<Notifier> {
  let current = await readTargets(o);
  let stopped = false;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  const pending = new Set<Promise<unknown>>();
  const log = o.log.child({ component: "notify" });

  const refresh = async () => {
    try {
      const s = o.configFile ? await Deno.stat(o.configFile) : undefined;
      const key = s ? `${s.mtime?.getTime()}:${s.size}:${s.ino}` : "";
      if (key !== current.key) current = await readTargets(o);
    } catch (e) {
      // Keep the last good targets; the operator sees why in the log.
      log.error("notification targets not reloaded", {
        problems: e instanceof NotifyConfigError ? e.problems : [(e as Error).message],
      });
    }
  };

  const payload = (id: string, event: NotifyEvent, e: DeploymentChange): NotifyPayload => ({
    event: `deployment.${event}`,
    delivery_id: id,
    deployment: {
      id: e.deploymentId,
      package: e.package,
      version: e.version,
      status: e.status,
      error: e.error ?? null,
      url: o.baseUrl ? new URL(`/deployments/${e.deploymentId}`, o.baseUrl).href : null,
      created_at: e.createdAt.toISOString(),
      started_at: e.startedAt?.toISOString() ?? null,
      finished_at: e.finishedAt?.toISOString() ?? null,
    },
  });

  const record = async (e: DeploymentChange, event: NotifyEvent) => {
    await refresh();
    for (const t of current.targets) {
      if (!t.events.includes(event) || (t.packages && !t.packages.includes(e.package))) continue;
      const id = crypto.randomUUID();
      await createNotification(o.sql, {
        id,
        deploymentId: e.deploymentId,
        target: t.name,
        event,
        payload: payload(id, event, e),
      });
    }
    wake?.();
  };

  const deliver = async (n: DueNotification) => {
    const target = current.targets.find((t) => t.name === n.target);
    const attempt = n.attempts + 1;
    const r = target
      ? await sendOnce(target, n.payload, { timeoutMs: o.timeoutMs, userAgent: o.userAgent })
      : { ok: false, httpStatus: null, error: "target no longer configured", durationMs: 0 };
    const last = !target || attempt >= o.attempts;
    const state = r.ok ? "delivered" : last ? "failed" : "pending";
    const retryInMs = Math.min(o.backoffMs * 2 ** (attempt - 1), MAX_BACKOFF_MS);
    await recordAttempt(o.sql, n.id, attempt, r, { state, retryInMs });
    const fields = { notification_id: n.id, target: n.target, attempt, error: r.error };
    if (state === "failed") log.warn("notification failed for good", fields);
    else if (state === "pending") log.info("notification attempt failed; will retry", fields);
  };

  const run = async () => {
    while (!stopped) {
      let due: DueNotification[] = [];
      try {
        due = await claimDue(o.sql, 10, o.timeoutMs + 5_000);
        await Promise.all(due.map(deliver));
      } catch (e) {
        log.error("notification loop", { error: e });
      }
      if (due.length === 0 && !stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, IDLE_POLL_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    }
  };

  return {
    get targets() {
      return current.targets;
    },
    handle(e, event = EVENT_OF[e.status]) {
      if (!event || current.targets.length === 0 && !o.configFile) return;
      const p = record(e, event).catch((err) =>
        log.error("could not record a notification", { deployment_id: e.deploymentId, error: err })
      );
      pending.add(p);
      p.finally(() => pending.delete(p));
    },
    start() {
      if (current.targets.length === 0 && !o.configFile) return;
      loop = run();
    },
    async stop(deadline) {
      stopped = true;
      wake?.();
      const done = Promise.all([loop, ...pending]);
      await Promise.race([
        done,
        new Promise((r) => deadline.addEventListener("abort", r, { once: true })),
      ]);
    },
  };
}
