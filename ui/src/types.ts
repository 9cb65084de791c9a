/**
 * The JSON shapes the UI reads, as README's API section documents them
 * (snake_case over the wire). The deployment statuses are the server's own
 * list (src/core/deployment_status.ts, pure data), not a copy.
 */

import type { DeploymentStatus } from "../../src/core/deployment_status.ts";
// The server's own record shapes (type-only: nothing of the server is bundled).
import type { CheckRecord, RollbackRecord } from "../../src/deploy/deployment.ts";

export { DEPLOYMENT_STATUSES } from "../../src/core/deployment_status.ts";
export type { CheckRecord, DeploymentStatus, RollbackRecord };

export const ACTIVE: DeploymentStatus[] = ["queued", "running"];

export interface Step {
  name: string;
  /** The rollout stage (packages with `stages`): activate, verify and promotion repeat per stage. */
  stage?: string;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  status: "running" | "ok" | "failed" | "skipped";
}

export interface NodeOutcome {
  node: string;
  /** "running": shown while colmena runs, read from the live log (live_nodes.ts). */
  status: "succeeded" | "failed" | "unknown" | "running";
  message: string | null;
}

export interface Deployment {
  id: string;
  package: string;
  version: string;
  nix_store_path: string | null;
  flake_ref: string | null;
  status: DeploymentStatus;
  triggered_by: { kind: "token" | "session" | "forge"; id: string; label: string } | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  steps?: Step[];
  commit_sha: string | null;
  /** The commit that put the flake repo back after a failed, cancelled or interrupted run. */
  revert_sha?: string | null;
  /** The flake remote got the commits (null: no remote or no commit; false: they wait locally). */
  pushed?: boolean | null;
  locked_rev: string | null;
  previous_locked_rev: string | null;
  nodes?: NodeOutcome[];
  error: string | null;
  /** "failure": the fleet or a check said no; "error": despacito could not do its part. */
  failure_kind?: "failure" | "error" | null;
  /** Machine-readable: activation_failed, check_failed, version_mismatch, cancelled, … */
  failure_code?: string | null;
  exit_code: number | null;
  /** The last 50 lines of its log, kept when it ended other than deployed. */
  log_tail?: string[] | null;
  superseded_by: string | null;
  /** A cancel was asked for and the run is being stopped. */
  cancel_requested?: boolean;
  /** "rollback": asked for with POST /api/packages/:name/rollback. */
  kind?: "deploy" | "rollback";
  /** The earlier deployment a rollback goes back to. */
  rollback_to?: string | null;
  /** The deployment this one repeats (POST /api/deployments/:id/retry). */
  retry_of?: string | null;
  /** colmena's --on selection, when the package has one. */
  targets?: string | null;
  checks?: CheckRecord[];
  rollback?: RollbackRecord | null;
  /** The stage a running deployment waits after for POST …/promote, or null. */
  awaiting_promotion?: string | null;
  seq?: number;
}

export interface DeploymentPage {
  deployments: Deployment[];
  next_cursor: string | null;
}

export interface Package {
  name: string;
  declared_url: string;
  locked_rev: string | null;
  current_version: string | null;
  store_path: string | null;
  deployed_at: string | null;
  deployment_id: string | null;
  last_status: DeploymentStatus | null;
  /** The package's newest deployment, whatever its status. */
  last_deployment_id?: string | null;
  /** Set after a failed rollback (or on_failure: hold): no deployment runs until released. */
  held?: { deployment_id: string; reason: string; held_at: string } | null;
}

/** What one node runs, as GET /api/nodes reports it. */
export interface FleetNode {
  node: string;
  commit: string | null;
  deployment_id: string | null;
  activated_at: string | null;
  outcome: "activated" | "rolled_back" | "failed" | "rollback_failed";
  packages: Record<string, string>;
  tags?: string[];
  /** What the flake's HEAD evaluates to for this node, and what it runs (drift checks). */
  expected_system?: string | null;
  running_system?: string | null;
  /** null: not checked, or the node did not answer. */
  drift?: boolean | null;
  reachable?: boolean | null;
  checked_at?: string | null;
}

/** What POST /api/deployments/:id/retry and POST /api/packages/:name/rollback answer. */
export interface Queued {
  status: string;
  deployment_id: string;
}

export interface Token {
  id: string;
  description: string;
  packages: string[] | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface CreatedToken extends Token {
  token: string;
}

export interface User {
  id: string;
  issuer: string | null;
  username: string | null;
  email: string | null;
  display_name: string | null;
}

export type Me =
  | { kind: "session"; user: User }
  | { kind: "token"; token: { id: string; description: string; packages: string[] | null } };

export interface AuthMethods {
  local: boolean;
  providers: { issuer: string; name: string }[];
}

export interface Repository {
  id: string;
  forge_url: string;
  forge_type: "forgejo" | "gitea";
  owner: string;
  repo: string;
  package: string;
  trigger: "release" | "tag";
  /** Where the flake fetches this repository from, when not the forge itself (null: the forge). */
  source_url: string | null;
  webhook_id: number | null;
  token: { set: boolean; last4: string };
  secret: { set: boolean; last4: string; rotating_until: string | null };
  last_delivery: { at: string; event: string; delivery_id: string; result: string } | null;
  last_status_post: {
    at: string;
    state: string;
    ok: boolean;
    error: string | null;
    deployment_id: string;
  } | null;
  /** What only the operator can fix: token rejected or read-only, repository moved. */
  problem: { code: string; message: string; at: string | null } | null;
  created_at: string;
}

/** A commit status despacito posted (or is posting) to the forge for a deployment. */
export interface StatusPost {
  repository: string;
  sha: string;
  state: string;
  description: string;
  target_url: string | null;
  attempts: number;
  /** null while it is still being retried. */
  ok: boolean | null;
  error: string | null;
  http_status: number | null;
  created_at: string;
  updated_at: string;
}

export interface ManualWebhook {
  url: string;
  secret: string;
  content_type: string;
  events: string[];
  token_page_url: string;
}

export interface Connected {
  repository: Repository;
  webhook: { created: true; id: number } | { created: false; manual: ManualWebhook };
}

export interface NewRepository {
  forge_url: string;
  owner: string;
  repo: string;
  package: string;
  token: string;
  trigger: "release" | "tag";
  /** Empty or null: the flake input is fetched from the forge itself. */
  source_url: string | null;
}

export interface LogLine {
  seq: number;
  stream: "stdout" | "stderr" | "system";
  line: string;
  at: string;
}

/** One `despacito login` of the signed-in user (GET /api/cli-sessions). */
export interface CliSession {
  id: string;
  client_id: string;
  client_name: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  client_address: string | null;
  user_agent: string | null;
  current: boolean;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: { kind: string; id: string | null; label: string | null };
  action: string;
  target: string | null;
  request_id: string | null;
  client_address: string | null;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  next_cursor: string | null;
}

export interface AuditVerdict {
  ok: boolean;
  rows: number;
  head: { id: number; hash: string } | null;
  problem: { row_id: number; kind: string; message: string } | null;
}

export interface NotificationAttempt {
  attempt: number;
  at: string;
  http_status: number | null;
  error: string | null;
  duration_ms: number;
}

export interface Notification {
  id: string;
  target: string;
  event: string;
  state: "pending" | "delivered" | "failed";
  attempts: NotificationAttempt[];
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  next_attempt_at: string | null;
}

/** GET /health/ready (200 or 503): what the deploy area adds with a flake remote or DESPACITO_HA. */
export interface Readiness {
  status: "ready" | "unavailable";
  reason?: string;
  instance?: string;
  leader?: string | null;
  role?: "leader" | "follower";
  flake_remote?: {
    url: string;
    branch: string;
    unpushed_commits: number;
    behind: boolean;
    last_error: string | null;
  };
}
