/**
 * The deployments tables, in plain SQL: the durable queue (enqueue with
 * idempotency and coalescing in one transaction, claim the oldest), every
 * status change (which also appends a `status` entry to the deployment's
 * log, so SSE can replay it), log lines with their per-deployment sequence
 * number, the package state and the read queries. Takes the `sql` handle;
 * returns events for the caller to publish after commit; never publishes.
 */

import type postgres from "postgres";
import type { PreparedAudit } from "../core/audit.ts";
import { DomainError } from "../core/errors.ts";
import { isUuid } from "../core/ids.ts";
import type { Sql } from "../db/connect.ts";
import type { NodeOutcome } from "./colmena.ts";
import { nodeStateCtes, type NodeStateWrite } from "./fleet_store.ts";
import {
  type CheckRecord,
  DEPLOYMENT_COLUMNS,
  type DeploymentKind,
  type DeploymentRow,
  type DeploymentStatus,
  type RollbackRecord,
  type Step,
  type Trigger,
} from "./deployment.ts";

/** A transaction handle (postgres.js types it apart from Sql). */
export type Tx = postgres.TransactionSql<Record<string, never>>;

export type LogStream = "stdout" | "stderr" | "system";

export type DeployEvent =
  | {
    type: "log";
    deploymentId: string;
    seq: number;
    stream: LogStream;
    line: string;
    at: Date;
  }
  | { type: "status"; deploymentId: string; seq: number; deployment: DeploymentRow };

export interface NewDeployment {
  package: string;
  version: string;
  nixStorePath: string | null;
  flakeRef: string | null;
  trigger: Trigger;
  /** Default "deploy"; "rollback" goes back to `rollbackTo`'s locked revision. */
  kind?: DeploymentKind;
  rollbackTo?: string | null;
  retryOf?: string | null;
  /**
   * The API token the request came with, checked again by the admission
   * (still valid, still allowed this package): the webhook's guard may have
   * trusted a token it verified a moment ago (src/auth/token_cache.ts).
   */
  tokenId?: string;
  /** The new deployment's id, when the caller needed it before (for `audit`'s target). */
  id?: string;
  /** Appended to the audit trail in the admission's own statement, when it queues. */
  audit?: PreparedAudit;
}

/** Every column a status change may write; nothing else can be named. */
export interface DeploymentPatch {
  status?: DeploymentStatus;
  startedAt?: Date;
  finishedAt?: Date;
  steps?: Step[];
  baseSha?: string | null;
  commitSha?: string | null;
  revertSha?: string | null;
  lockedRev?: string | null;
  previousLockedRev?: string | null;
  nodes?: NodeOutcome[];
  error?: string | null;
  failureKind?: "failure" | "error" | null;
  failureCode?: string | null;
  exitCode?: number | null;
  logTail?: string[] | null;
  supersededBy?: string;
  cancelRequestedAt?: Date;
  checks?: CheckRecord[];
  rollback?: RollbackRecord | null;
  targets?: string | null;
  pushed?: boolean | null;
}

const PATCH_COLUMNS: Record<keyof DeploymentPatch, string> = {
  status: "status",
  startedAt: "started_at",
  finishedAt: "finished_at",
  steps: "steps",
  baseSha: "base_sha",
  commitSha: "commit_sha",
  revertSha: "revert_sha",
  lockedRev: "locked_rev",
  previousLockedRev: "previous_locked_rev",
  nodes: "nodes",
  error: "error",
  failureKind: "failure_kind",
  failureCode: "failure_code",
  exitCode: "exit_code",
  logTail: "log_tail",
  supersededBy: "superseded_by",
  cancelRequestedAt: "cancel_requested_at",
  checks: "checks",
  rollback: "rollback",
  targets: "targets",
  pushed: "pushed",
};
const JSON_COLUMNS = new Set(["steps", "nodes", "checks", "rollback"]);

export type EnqueueResult =
  | {
    outcome: "queued";
    deployment: DeploymentRow;
    superseded: DeploymentRow[];
    events: DeployEvent[];
  }
  | { outcome: "already_deployed" | "in_progress"; deployment: LiveDeployment; events: [] };

/** What a repeat is answered with: the live deployment of that package and version. */
export type LiveDeployment = Pick<DeploymentRow, "id" | "package" | "version" | "kind" | "status">;

const UNIQUE_VIOLATION = "23505";

export async function appendLog(
  sql: Sql | Tx,
  id: string,
  stream: LogStream,
  line: string,
): Promise<DeployEvent> {
  const [row] = await sql<{ seq: number; at: Date }[]>`
    with s as (update deployments set seq = seq + 1 where id = ${id} returning seq)
    insert into deployment_log (deployment_id, seq, stream, line)
    select ${id}, s.seq, ${stream}, ${line} from s
    returning seq, at`;
  if (!row) throw new Error(`deployment ${id} does not exist`);
  return { type: "log", deploymentId: id, seq: row.seq, stream, line, at: row.at };
}

/**
 * Appends several lines in one statement: the deployment's seq moves by
 * their number and they take the numbers in between, in order, so the
 * sequence stays gap-free. Atomic: on failure nothing was stored and the
 * whole batch may be retried.
 */
export async function appendLogs(
  sql: Sql | Tx,
  id: string,
  lines: readonly { stream: LogStream; line: string }[],
): Promise<DeployEvent[]> {
  const n = lines.length;
  if (n === 0) return [];
  // One row back, not one per line: the batch's lines share the moment it was stored, and
  // their numbers follow from the first.
  const [row] = await sql<{ seq: number; at: Date }[]>`
    with s as (
      update deployments set seq = seq + ${n} where id = ${id} returning seq, clock_timestamp() as at
    ), ins as (
      insert into deployment_log (deployment_id, seq, stream, line, at)
      select ${id}, s.seq - ${n} + t.n, t.stream, t.line, s.at
      from s, unnest(${lines.map((l) => l.stream)}::text[], ${lines.map((l) => l.line)}::text[])
        with ordinality as t(stream, line, n)
    )
    select seq, at from s`;
  if (!row) throw new Error(`deployment ${id} does not exist`);
  const first = Number(row.seq) - n + 1;
  return lines.map((l, i) => ({
    type: "log",
    deploymentId: id,
    seq: first + i,
    stream: l.stream,
    line: l.line,
    at: row.at,
  }));
}

/** A status change's outcome: the new row, and its events in sequence order (lines, then status). */
export interface StatusChange {
  row: DeploymentRow;
  events: DeployEvent[];
}

type Line = { stream: LogStream; line: string };

// The updated row travels as one composite column (`d`); its fields by name.
const CHANGED_COLUMNS = DEPLOYMENT_COLUMNS.map((c) => `(u.d).${c}`).join(", ");

/**
 * The statement's tail after the `u` CTE (an update of deployments returning `d` — the
 * whole row — and `at`, whose seq moved by `lines.length + 1`): `lines` take the numbers
 * before the new seq, the status entry (the row's JSON, despacito_deployment_json in
 * migrations/0021_status_change.sql) takes the new seq. One statement, so the row and its
 * entries commit together or not at all, without a round trip in between.
 */
function changeTail(
  tx: Sql | Tx,
  lines: readonly Line[],
  also: postgres.PendingQuery<postgres.Row[]>,
  /** More rows of the same shape (`union all select …`). */
  more: postgres.PendingQuery<postgres.Row[]> = tx``,
) {
  const n = lines.length;
  return tx`
    ${
    n > 0
      ? tx`, lines as (
      insert into deployment_log (deployment_id, seq, stream, line, at)
      select (u.d).id, (u.d).seq - ${n + 1} + t.n, t.stream, t.line, u.at
      from u, unnest(${lines.map((l) => l.stream)}::text[], ${lines.map((l) => l.line)}::text[])
        with ordinality as t(stream, line, n)
    )`
      : tx``
  }, status_entry as (
      insert into deployment_log (deployment_id, seq, stream, line, data)
      select (u.d).id, (u.d).seq, 'status', (u.d).status, despacito_deployment_json(u.d) from u
    ) ${also}
    select u.at as change_at, ${tx.unsafe(CHANGED_COLUMNS)} from u ${more}`;
}

function changeOf(
  rows: readonly (DeploymentRow & { changeAt: Date })[],
  lines: readonly Line[],
): StatusChange | undefined {
  const [r] = rows;
  if (!r) return undefined;
  const { changeAt: at, ...row } = r;
  const first = row.seq - lines.length;
  const events: DeployEvent[] = lines.map((l, i) => ({
    type: "log",
    deploymentId: row.id,
    seq: first + i,
    stream: l.stream,
    line: l.line,
    at,
  }));
  events.push({ type: "status", deploymentId: row.id, seq: row.seq, deployment: row });
  return { row, events };
}

/**
 * Applies `patch` to the deployment if its status is one of `from`, stores `lines` (log
 * lines that precede the change, e.g. a journal's gathered ones) and the status entry,
 * and returns the new row with the events; or undefined (nothing written) when the
 * deployment was not in one of those states. With `recordState`, a deployment that ends
 * `deployed` also becomes its package's state (package_state) in the same statement;
 * `nodeStates` (what colmena just activated, fleet_store.ts) go in it too, applied or not.
 */
export async function changeDeployment(
  tx: Sql | Tx,
  id: string,
  from: readonly DeploymentStatus[],
  patch: DeploymentPatch,
  o: { lines?: readonly Line[]; recordState?: boolean; nodeStates?: NodeStateWrite[] } = {},
): Promise<StatusChange | undefined> {
  const lines = o.lines ?? [];
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    const column = PATCH_COLUMNS[k as keyof DeploymentPatch];
    values[column] = JSON_COLUMNS.has(column) && v !== null ? tx.json(v as never) : v;
  }
  const bump = lines.length + 1;
  // postgres.js recognises `set ${helper}` only directly after `set` in the query text.
  const update = Object.keys(values).length > 0
    ? tx`update deployments d set ${tx(values)}, seq = d.seq + ${bump}`
    : tx`update deployments d set seq = d.seq + ${bump}`;
  const rows = await tx<(DeploymentRow & { changeAt: Date })[]>`
    with u as (
      ${update}
      where d.id = ${id} and d.status in ${tx(from as string[])}
      returning d, clock_timestamp() as at
    ) ${
    changeTail(
      tx,
      lines,
      tx`${o.recordState ? recordDeployedCte(tx) : tx``}${
        o.nodeStates?.length ? nodeStateCtes(tx, o.nodeStates) : tx``
      }`,
    )
  }`;
  return changeOf(rows, lines);
}

/** The package's state from `u` when it ended deployed: a CTE of the change itself. */
function recordDeployedCte(tx: Sql | Tx) {
  return tx`, package_state_row as (
    insert into package_state (package, version, nix_store_path, locked_rev, deployment_id,
                               deployed_at)
    select (u.d).package, (u.d).version, (u.d).nix_store_path, (u.d).locked_rev, (u.d).id,
           coalesce((u.d).finished_at, now())
    from u where (u.d).status = 'deployed'
    on conflict (package) do update set
      version = excluded.version, nix_store_path = excluded.nix_store_path,
      locked_rev = excluded.locked_rev, deployment_id = excluded.deployment_id,
      deployed_at = excluded.deployed_at
  )`;
}

/**
 * Durably queues a deployment unless its package is held (409 package_held),
 * this package+version was deployed or is queued/running already, or the
 * queue is full (429 queue_full, DESPACITO_QUEUE_LIMIT); supersedes older
 * queued versions of the package. Serialised per package by an advisory
 * lock; the unique index is the backstop if anything else races.
 *
 * One round trip: despacito_enqueue() (migrations/0017_admission.sql) runs
 * the checks, the insert, the supersession and every log and status entry
 * inside PostgreSQL, so the package's lock is never held across the network;
 * a repeat is answered before the lock is taken.
 */
export async function enqueue(
  sql: Sql,
  req: NewDeployment,
  limits: { queueLimit?: number } = {},
): Promise<EnqueueResult> {
  for (let attempt = 0;; attempt++) {
    try {
      return await admitOnce(sql, req, limits.queueLimit);
    } catch (e) {
      if (attempt < 2 && (e as { code?: string }).code === UNIQUE_VIOLATION) continue;
      throw e;
    }
  }
}

/** despacito_enqueue()'s rows: the outcome's, then each superseded deployment's. */
type AdmissionRow =
  & Pick<
    DeploymentRow,
    "id" | "package" | "version" | "kind" | "status" | "arrival" | "createdAt"
  >
  & {
    outcome:
      | "token_refused"
      | "package_not_allowed"
      | "held"
      | "queue_full"
      | "already_deployed"
      | "in_progress"
      | "queued"
      | "superseded";
    heldBy: string | null;
    heldReason: string | null;
    logAt: Date | null;
    /** A superseded row, whole (its status event carries it); null on the other rows. */
    supersededRow: SupersededJson | null;
  };

// One statement text, built once: postgres.js finds its prepared statement by it. Only the
// fields a caller reads, as columns: postgres.js parses every column of every row, ~0.6 µs
// each even when null, and a repeat (the 409) or a new row needs 7 of the row type's 35. The
// one row answered whole, a superseded one, comes as one jsonb value (one JSON.parse).
const ADMISSION = `select outcome, held_by, held_reason, log_at, (deployment).id,
  (deployment).package, (deployment).version, (deployment).kind, (deployment).status,
  (deployment).arrival, (deployment).created_at,
  case when outcome = 'superseded' then to_jsonb(deployment) end as superseded_row
from despacito_enqueue(${Array.from({ length: 17 }, (_, i) => `$${i + 1}`).join(", ")})`;

/** to_jsonb() of a deployments row: the columns' names, timestamps as ISO text. */
type SupersededJson = {
  [K in (typeof DEPLOYMENT_COLUMNS)[number]]: unknown;
};

/**
 * A deployments row from its to_jsonb() form, as postgres.js would parse the
 * columns (int8 → number and uuid, text, jsonb, text[] alike; timestamptz →
 * Date). Spelled out so the compiler names a DeploymentRow field missing here.
 */
function deploymentFromJson(j: SupersededJson): DeploymentRow {
  const date = (v: unknown) => (v === null ? null : new Date(v as string));
  // deno-lint-ignore no-explicit-any
  const r = j as Record<(typeof DEPLOYMENT_COLUMNS)[number], any>;
  return {
    id: r.id,
    arrival: r.arrival,
    package: r.package,
    version: r.version,
    nixStorePath: r.nix_store_path,
    flakeRef: r.flake_ref,
    status: r.status,
    triggerKind: r.trigger_kind,
    triggerId: r.trigger_id,
    triggerLabel: r.trigger_label,
    createdAt: new Date(r.created_at),
    startedAt: date(r.started_at),
    finishedAt: date(r.finished_at),
    steps: r.steps,
    baseSha: r.base_sha,
    commitSha: r.commit_sha,
    revertSha: r.revert_sha,
    lockedRev: r.locked_rev,
    previousLockedRev: r.previous_locked_rev,
    nodes: r.nodes,
    error: r.error,
    failureKind: r.failure_kind,
    exitCode: r.exit_code,
    logTail: r.log_tail,
    supersededBy: r.superseded_by,
    cancelRequestedAt: date(r.cancel_requested_at),
    seq: r.seq,
    kind: r.kind,
    rollbackTo: r.rollback_to,
    retryOf: r.retry_of,
    checks: r.checks,
    rollback: r.rollback,
    targets: r.targets,
    failureCode: r.failure_code,
    pushed: r.pushed,
  };
}

async function admitOnce(
  sql: Sql,
  req: NewDeployment,
  queueLimit: number | undefined,
): Promise<EnqueueResult> {
  const id = req.id ?? crypto.randomUUID();
  const kind = req.kind ?? "deploy";
  const what = kind === "rollback"
    ? `rollback of ${req.package} to ${req.version} (${req.rollbackTo})`
    : `${req.package} ${req.version}`;
  const retry = req.retryOf ? `, a retry of ${req.retryOf}` : "";
  const queuedLine =
    `queued ${what} (requested by ${req.trigger.kind} ${req.trigger.label}${retry})`;
  const rows = await sql.unsafe<AdmissionRow[]>(ADMISSION, [
    id,
    req.package,
    req.version,
    req.nixStorePath,
    req.flakeRef,
    req.trigger.kind,
    req.trigger.id,
    req.trigger.label,
    kind,
    req.rollbackTo ?? null,
    req.retryOf ?? null,
    queueLimit ?? null,
    queuedLine,
    `superseded by ${req.version} (${id})`,
    `superseded by ${req.package} ${req.version} before it started`,
    // The new row's status entry is built by the function (migration 0020), not sent by every
    // admission, repeats included, as ~1 KB of JSON.
    req.tokenId ?? null,
    req.audit ? JSON.stringify(req.audit) : null,
  ], { prepare: true });
  const { outcome, heldBy, heldReason } = rows[0];
  if (outcome === "token_refused") {
    throw new DomainError("unauthenticated", "unauthenticated", "invalid or revoked token");
  }
  if (outcome === "package_not_allowed") {
    throw new DomainError(
      "forbidden",
      "package_not_allowed",
      `this token may not deploy ${req.package}`,
    );
  }
  if (outcome === "held") {
    const pkg = req.package;
    throw new DomainError(
      "conflict",
      "package_held",
      `${pkg} is held since deployment ${heldBy} (${heldReason}); release it with POST /api/packages/${pkg}/release`,
      { extra: { status: "package_held", package: pkg, held_by: heldBy } },
    );
  }
  if (outcome === "queue_full") {
    throw new DomainError(
      "rate_limited",
      "queue_full",
      `the deployment queue is full (${queueLimit} queued); retry later`,
      { retryAfter: QUEUE_FULL_RETRY_S },
    );
  }
  if (outcome === "already_deployed" || outcome === "in_progress") {
    const { id, package: pkg, version, kind, status } = rows[0];
    return { outcome, deployment: { id, package: pkg, version, kind, status }, events: [] };
  }
  // The new row as the caller built it, with what the database chose.
  const first = queuedRow(id, req, kind);
  first.arrival = rows[0].arrival;
  first.createdAt = rows[0].createdAt;
  const at = new Map(rows.map((r) => [r.id, r.logAt ?? new Date()]));
  const older = rows.slice(1).map((r) => deploymentFromJson(r.supersededRow!));
  older.sort((a, b) => a.arrival - b.arrival);
  const events: DeployEvent[] = [first, ...older].flatMap((row) => [
    {
      type: "log" as const,
      deploymentId: row.id,
      seq: row.seq - 1,
      stream: "system" as const,
      line: row.id === id ? queuedLine : `superseded by ${req.version} (${id})`,
      at: at.get(row.id)!,
    },
    { type: "status" as const, deploymentId: row.id, seq: row.seq, deployment: row },
  ]);
  return { outcome: "queued", deployment: first, superseded: older, events };
}

/**
 * The new row as the admission inserts it (what the insert writes and the
 * columns' defaults), for the caller's answer and its status event;
 * despacito_enqueue() answers arrival and created_at, chosen there, and
 * builds the stored status entry's JSON itself (migration 0020).
 */
function queuedRow(id: string, req: NewDeployment, kind: DeploymentKind): DeploymentRow {
  return {
    id,
    arrival: 0,
    package: req.package,
    version: req.version,
    nixStorePath: req.nixStorePath,
    flakeRef: req.flakeRef,
    status: "queued",
    triggerKind: req.trigger.kind,
    triggerId: req.trigger.id,
    triggerLabel: req.trigger.label,
    createdAt: new Date(0),
    startedAt: null,
    finishedAt: null,
    steps: [],
    baseSha: null,
    commitSha: null,
    revertSha: null,
    lockedRev: null,
    previousLockedRev: null,
    nodes: [],
    error: null,
    failureKind: null,
    exitCode: null,
    logTail: null,
    supersededBy: null,
    cancelRequestedAt: null,
    seq: 2,
    kind,
    rollbackTo: req.rollbackTo ?? null,
    retryOf: req.retryOf ?? null,
    checks: [],
    rollback: null,
    targets: null,
    failureCode: null,
    pushed: null,
  };
}

const QUEUE_FULL_RETRY_S = 30;

/**
 * Marks the oldest queued deployment running, with its "queued" step closed — unless a
 * deployment is `running` already (left by a crash or a database outage): then nothing
 * is claimed and those rows come back as `stuck`, for the worker to recover first. One
 * statement: the row is picked `for update skip locked` (another instance's claim takes
 * the next one or none) and changed with its status entry.
 */
export async function claimNext(
  sql: Sql,
): Promise<{ claimed?: DeploymentRow; stuck: DeploymentRow[]; events: DeployEvent[] }> {
  const now = new Date();
  const rows = await sql<(DeploymentRow & { changeAt: Date | null })[]>`
    with stuck as (
      select d from deployments d where d.status = 'running'
    ), next as (
      select id, created_at from deployments where status = 'queued'
        and not exists (select from stuck)
      order by arrival limit 1 for update skip locked
    ), u as (
      update deployments d set status = 'running', started_at = ${now}, seq = d.seq + 1,
        steps = jsonb_build_array(jsonb_build_object(
          'name', 'queued',
          'started_at', despacito_iso(next.created_at),
          'finished_at', ${now.toISOString()}::text,
          'duration_ms', (extract(epoch from ${now}::timestamptz
                          - date_trunc('milliseconds', next.created_at)) * 1000)::bigint,
          'status', 'ok'))
      from next where d.id = next.id and d.status = 'queued'
      returning d, clock_timestamp() as at
    ) ${
    changeTail(
      sql,
      [],
      sql``,
      sql`union all select null, ${sql.unsafe(CHANGED_COLUMNS)} from stuck u`,
    )
  }`;
  const stuck = rows.filter((r) => r.changeAt === null).map(({ changeAt: _, ...row }) => row);
  const c = changeOf(
    rows.filter((r) => r.changeAt !== null) as (DeploymentRow & { changeAt: Date })[],
    [],
  );
  return { claimed: c?.row, stuck, events: c?.events ?? [] };
}

export async function getDeployment(sql: Sql, id: string): Promise<DeploymentRow | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await sql<DeploymentRow[]>`
    select ${sql(DEPLOYMENT_COLUMNS)} from deployments where id = ${id}`;
  return row;
}

export async function markCancelRequested(sql: Sql, id: string): Promise<void> {
  await sql`update deployments set cancel_requested_at = now() where id = ${id}`;
}

export async function runningDeployments(sql: Sql): Promise<DeploymentRow[]> {
  return await sql<DeploymentRow[]>`
    select ${sql(DEPLOYMENT_COLUMNS)} from deployments where status = 'running'`;
}

export interface ListFilter {
  package?: string;
  statuses?: DeploymentStatus[];
  /** Versions containing this text (the History search). */
  versionContains?: string;
  /** Deployments that reported an outcome for this node (a node's page). */
  node?: string;
  limit: number;
  /** Arrival number to continue below (exclusive). */
  before?: number;
}

export async function listDeployments(sql: Sql, f: ListFilter): Promise<DeploymentRow[]> {
  return await sql<DeploymentRow[]>`
    select ${sql(DEPLOYMENT_COLUMNS)} from deployments
    where true
      ${f.package !== undefined ? sql`and package = ${f.package}` : sql``}
      ${f.statuses ? sql`and status in ${sql(f.statuses as string[])}` : sql``}
      ${f.versionContains ? sql`and strpos(version, ${f.versionContains}) > 0` : sql``}
      ${f.node ? sql`and nodes @> ${sql.json([{ node: f.node }] as never)}` : sql``}
      ${f.before !== undefined ? sql`and arrival < ${f.before}` : sql``}
    order by arrival desc
    limit ${f.limit}`;
}

export interface LogEntry {
  seq: number;
  stream: LogStream | "status";
  line: string;
  data: unknown;
  at: Date;
}

export async function logEntries(
  sql: Sql,
  id: string,
  afterSeq = 0,
  limit = 5000,
): Promise<LogEntry[]> {
  return await sql<LogEntry[]>`
    select seq, stream, line, data, at from deployment_log
    where deployment_id = ${id} and seq > ${afterSeq}
    order by seq limit ${limit}`;
}

/** Every captured output line of a deployment (no status rows), read a page at a time. */
export async function outputLines(sql: Sql, id: string): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for (let after = 0;;) {
    const page = await logEntries(sql, id, after, 5000);
    for (const e of page) if (e.stream !== "status") out.push(e);
    if (page.length < 5000) return out;
    after = page[page.length - 1].seq;
  }
}

export async function logTail(sql: Sql, id: string, n: number): Promise<string[]> {
  const rows = await sql<{ line: string }[]>`
    select line from (
      select seq, line from deployment_log
      where deployment_id = ${id} and stream <> 'status'
      order by seq desc limit ${n}
    ) t order by seq`;
  return rows.map((r) => r.line);
}

export interface PackageStateRow {
  package: string;
  version: string;
  nixStorePath: string | null;
  lockedRev: string | null;
  deploymentId: string;
  deployedAt: Date;
}

export async function packageStates(sql: Sql | Tx): Promise<PackageStateRow[]> {
  return await sql<PackageStateRow[]>`
    select package, version, nix_store_path, locked_rev, deployment_id, deployed_at
    from package_state`;
}

/** A deployment of `pkg` that ended deployed at `rev`, newest first; for the version rule. */
export async function deployedAtRev(
  sql: Sql,
  pkg: string,
  rev: string,
): Promise<{ id: string; version: string } | undefined> {
  const [row] = await sql<{ id: string; version: string }[]>`
    select id, version from deployments
    where package = ${pkg} and locked_rev = ${rev} and status = 'deployed'
    order by arrival desc limit 1`;
  return row;
}

export async function lastDeployments(
  sql: Sql,
): Promise<{ package: string; id: string; status: DeploymentStatus }[]> {
  return await sql<{ package: string; id: string; status: DeploymentStatus }[]>`
    select distinct on (package) package, id, status from deployments
    order by package, arrival desc`;
}
