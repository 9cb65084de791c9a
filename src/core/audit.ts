/**
 * The audit port: what any area (and the CLI) hands to the audit trail when
 * it changed state. Plain data, no I/O: src/ops/audit_store.ts writes it to
 * the hash-chained `audit_log`. Details never hold a secret (no token, no
 * password, no webhook secret): callers pass ids and labels only.
 */

/** Every action the trail records; README's audit section lists the same names. */
export const AUDIT_ACTIONS = [
  "token.created",
  "token.revoked",
  "auth.sign_in",
  "auth.sign_in_failed",
  "auth.sign_out",
  "auth.cli_sign_in",
  "auth.cli_sign_out",
  "auth.cli_token_replayed",
  "user.created",
  "user.password_changed",
  "user.disabled",
  "user.enabled",
  "repository.connected",
  "repository.disconnected",
  "repository.secret_rotated",
  "deployment.requested",
  "deployment.cancelled",
  "deployment.promoted",
  "deployment.retried",
  "deployment.rolled_back",
  "package.held",
  "package.released",
  "server_key.rotated",
  "state.imported",
] as const;

export type AuditAction = typeof AUDIT_ACTIONS[number];

/**
 * Who acted: a bearer token, a signed-in user, a forge connection, the local
 * CLI, despacito itself at start (first admin), or a caller without credentials.
 */
export type ActorKind = "token" | "user" | "forge" | "cli" | "system" | "anonymous";

export interface AuditActor {
  kind: ActorKind;
  /** Token id, user id, connection id; absent for the CLI and anonymous callers. */
  id?: string;
  /** Token description, username, repository name, OS user running the CLI. */
  label?: string;
}

export interface AuditEntry {
  actor: AuditActor;
  action: AuditAction;
  /** What was acted on: "token:<id>", "deployment:<id>", "repository:<id>", "user:<name>". */
  target?: string;
  requestId?: string;
  clientAddress?: string;
  /** Non-secret facts (package, version, reason). */
  details?: Record<string, unknown>;
}

/**
 * An entry made ready to be appended inside another statement's transaction
 * (the webhook's admission, migrations/0017_admission.sql): the row's fields
 * and `rest`, its canonical form after the id only the append can assign.
 */
export interface PreparedAudit {
  at: Date;
  actorKind: ActorKind;
  actorId: string | null;
  actorLabel: string | null;
  action: AuditAction;
  target: string | null;
  requestId: string | null;
  clientAddress: string | null;
  details: Record<string, unknown>;
  rest: string;
}

export interface AuditSink {
  /** Appends one row; resolves once it is durable. */
  record(entry: AuditEntry): Promise<void>;
  /** The row for an append in the same transaction as the action (absent: record() only). */
  prepare?(entry: AuditEntry): PreparedAudit;
}

/** For contexts that record nothing (unit tests of one area). */
export const NO_AUDIT: AuditSink = { record: () => Promise.resolve() };
