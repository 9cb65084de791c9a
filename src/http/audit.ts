/**
 * Who, from where and in which request: the request half of an audit row,
 * read from the context the access guard filled. Areas' route files record
 * through this so every row names the caller the same way.
 */

import type { AuditActor, AuditEntry, AuditSink } from "../core/audit.ts";
import { clientAddress, parseTrustedProxies } from "../auth/client_address.ts";
import type { Config } from "../config/config.ts";
import type { AppContext } from "./types.ts";

export type RequestAudit = (
  c: AppContext,
  entry: Omit<AuditEntry, "actor" | "requestId" | "clientAddress"> & { actor?: AuditActor },
) => Promise<void>;

export function actorOf(c: AppContext): AuditActor {
  const p = c.get("principal");
  if (p?.kind === "token") return { kind: "token", id: p.token.id, label: p.token.description };
  if (p?.kind === "session") {
    return {
      kind: "user",
      id: p.user.id,
      label: p.user.username ?? p.user.email ?? p.user.subject,
    };
  }
  return { kind: "anonymous" };
}

export function requestAudit(sink: AuditSink, config: Readonly<Config>): RequestAudit {
  const trusted = parseTrustedProxies(config.trustedProxies ?? []);
  return (c, entry) =>
    sink.record({
      ...entry,
      actor: entry.actor ?? actorOf(c),
      requestId: c.get("requestId"),
      clientAddress: clientAddress(c.env?.remoteAddr, c.req.header("x-forwarded-for"), trusted),
    });
}
