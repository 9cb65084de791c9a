/**
 * The forge area: Forgejo/Gitea repository connections, signed native
 * webhooks that enqueue deployments, and commit statuses that follow them.
 * Mounted only when DESPACITO_BASE_URL is set (webhook URLs and status
 * links need it). Talks to deployments only through the ports it is given
 * (ports.ts); keeps deliveries it cannot act on yet and tries them again
 * (pending.ts); never imports the deploy area, never stores a secret
 * unsealed, never lets a status post touch a deployment's outcome.
 */

import { auditActor, type Principal } from "../auth/principal.ts";
import type { Area, AreaContext } from "../http/area.ts";
import { NO_AUDIT } from "../core/audit.ts";
import { requestAudit } from "../http/audit.ts";
import { createSealer, type Sealer } from "../secrets/box.ts";
import { loadOrCreateKey } from "../secrets/key.ts";
import { createForgeClient } from "./client.ts";
import type { ForgeDeps } from "./deps.ts";
import type { ForgePorts } from "./ports.ts";
import { startPendingRetries } from "./pending.ts";
import { forgeRoutes } from "./routes.ts";
import { createStatusPoster } from "./statuses.ts";

export interface ForgeAreaOptions extends AreaContext {
  ports: ForgePorts;
  /** For tests: the HTTP client used to reach forges. */
  fetch?: typeof fetch;
  /** For tests: a sealer instead of the server key. */
  sealer?: Sealer;
  now?: () => Date;
  /** How often deliveries kept for later are tried again (default 15 s). */
  retryEveryMs?: number;
}

/**
 * The forge area, or undefined when it cannot run (no DESPACITO_BASE_URL; src/areas.ts then
 * does not even load this module, and says so in the log).
 */
export async function createForgeArea(
  options: ForgeAreaOptions,
): Promise<Area<Principal> | undefined> {
  const { config, log, sql, ports } = options;
  if (!config.baseUrl) return undefined;
  const sealer = options.sealer ?? createSealer((await loadOrCreateKey(config, log)).key);
  const deps: ForgeDeps = {
    sql,
    sealer,
    log: log.child({ component: "forge" }),
    ports,
    config: {
      baseUrl: config.baseUrl,
      forgeTimeoutMs: config.forgeTimeoutMs,
      forgeStatusAttempts: config.forgeStatusAttempts,
      forgeStatusBackoffMs: config.forgeStatusBackoffMs,
      forgeSecretOverlapMs: config.forgeSecretOverlapMs,
    },
    clientFor: (forgeUrl, token) =>
      createForgeClient({
        forgeUrl,
        token,
        timeoutMs: config.forgeTimeoutMs,
        fetch: options.fetch,
      }),
    now: options.now ?? (() => new Date()),
  };
  const poster = createStatusPoster(deps);
  let unsubscribe: (() => void) | undefined;
  let retries: { stop(): Promise<void> } | undefined;
  return {
    name: "forge",
    routes: forgeRoutes(deps, requestAudit(options.audit ?? NO_AUDIT, config, auditActor)),
    start() {
      unsubscribe = ports.subscribe((e) => poster.handle(e));
      retries = startPendingRetries(deps, options.retryEveryMs ?? 15_000);
    },
    async stop(deadline) {
      unsubscribe?.();
      await Promise.race([
        Promise.all([poster.stop(), retries?.stop()]),
        new Promise<void>((r) => deadline.addEventListener("abort", () => r(), { once: true })),
      ]);
    },
  };
}
