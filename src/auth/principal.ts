/** Who is asking: a bearer token or a signed-in user. */

import type { AuditActor } from "../core/audit.ts";
import type { UserRecord } from "./users.ts";

export interface TokenPrincipal {
  kind: "token";
  token: {
    id: string;
    description: string;
    /** Packages this token may deploy; null means any. */
    packages: string[] | null;
  };
}

export interface SessionPrincipal {
  kind: "session";
  /** The user's identity; the account's dates stay in UserRecord. */
  user: Pick<UserRecord, "id" | "issuer" | "subject" | "username" | "email" | "displayName">;
  /**
   * A browser session, or with `cli` a CLI sign-in (an OAuth grant) whose
   * access token came as a bearer: no cookie, so no CSRF check.
   */
  session: { id: string; cli?: true };
}

export type Principal = TokenPrincipal | SessionPrincipal;

/** The user of a session principal from a row joined with users (`user_id as userId`). */
export function sessionUser(
  row: Pick<UserRecord, "issuer" | "subject" | "username" | "email" | "displayName"> & {
    userId: string;
  },
): SessionPrincipal["user"] {
  const { userId: id, issuer, subject, username, email, displayName } = row;
  return { id, issuer, subject, username, email, displayName };
}

/** A short label for logs and "triggered by" fields. */
export function describePrincipal(p: Principal): string {
  return p.kind === "token"
    ? `token ${p.token.description}`
    : `user ${p.user.username ?? p.user.email ?? p.user.subject}`;
}

/** The audit trail's "who" for a request's principal (src/http/audit.ts). */
export function auditActor(p: Principal | undefined): AuditActor {
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
