/**
 * Who, from where and in which request: the request half of an audit row.
 * Areas' route files record through this so every row names the caller the
 * same way. Who the caller is depends on the principal type, which this
 * generic layer does not know: the composition hands in `actorOf` (sign-in's
 * `auditActor`).
 */

import type { AuditActor, AuditEntry, AuditSink, PreparedAudit } from "../core/audit.ts";
import type { Config } from "../config/config.ts";
import { parseTrustedProxies } from "../config/trusted_proxies.ts";
import { clientAddress } from "./client_address.ts";
import type { RouteContext } from "./types.ts";

type RequestEntry = Omit<AuditEntry, "actor" | "requestId" | "clientAddress"> & {
  actor?: AuditActor;
};

// deno-lint-ignore no-explicit-any
export type RequestAudit<P = any> = ((c: RouteContext<P>, entry: RequestEntry) => Promise<void>) & {
  /**
   * The row for an append inside the action's own statement (the webhook's
   * admission); undefined when the trail cannot do that (then record it).
   */
  prepare?: (c: RouteContext<P>, entry: RequestEntry) => PreparedAudit | undefined;
};

export function requestAudit<P>(
  sink: AuditSink,
  config: Readonly<Config>,
  actorOf: (p: P | undefined) => AuditActor,
): RequestAudit<P> {
  const trusted = parseTrustedProxies(config.trustedProxies ?? []);
  const full = (c: RouteContext<P>, entry: RequestEntry): AuditEntry => ({
    ...entry,
    actor: entry.actor ?? actorOf(c.get("principal")),
    requestId: c.get("requestId"),
    clientAddress: clientAddress(c.env?.remoteAddr, c.req.header("x-forwarded-for"), trusted),
  });
  return Object.assign((c: RouteContext<P>, entry: RequestEntry) => sink.record(full(c, entry)), {
    prepare: (c: RouteContext<P>, entry: RequestEntry) => sink.prepare?.(full(c, entry)),
  });
}
