/**
 * What each node runs, and which packages are held, in plain SQL. A node's
 * row changes only when despacito saw colmena activate it (or roll it
 * back): the flake commit it runs, the deployment that put it there and so
 * the version of every package on it. Takes the `sql` handle; never runs
 * anything.
 */

import type { Sql } from "../db/connect.ts";
import type { Tx } from "./store.ts";

export type NodeOutcomeKind = "activated" | "rolled_back" | "failed" | "rollback_failed";

export interface NodeStateRow {
  node: string;
  commitSha: string | null;
  deploymentId: string | null;
  activatedAt: Date | null;
  /** `observed`: known only from a drift check, never activated by despacito. */
  outcome: NodeOutcomeKind | "observed";
  packages: Record<string, string>;
  updatedAt: Date;
  tags: string[];
  expectedSystem: string | null;
  runningSystem: string | null;
  reachable: boolean | null;
  drift: boolean | null;
  checkedAt: Date | null;
}

/** One node's new state; `running` null keeps what it ran before (a failure that changed nothing). */
export interface NodeStateWrite {
  node: string;
  outcome: NodeOutcomeKind;
  deploymentId: string;
  running: { commitSha: string | null; packages: Record<string, string> } | null;
}

/** All nodes in at most two statements (a fleet of a hundred is not a hundred round trips). */
export async function writeNodeStates(sql: Sql | Tx, writes: NodeStateWrite[]): Promise<void> {
  const { moved, stayed } = nodeRows(writes);
  if (moved.length > 0) await movedInsert(sql, moved);
  if (stayed.length > 0) await stayedInsert(sql, stayed);
}

/**
 * The same writes as CTEs of another statement (`, node_moved as (insert …)`): the status
 * change they go with (store.ts changeDeployment), one round trip for both. Written whether
 * or not that change applies, as writeNodeStates would.
 */
export function nodeStateCtes(tx: Sql | Tx, writes: NodeStateWrite[]) {
  const { moved, stayed } = nodeRows(writes);
  return tx`${moved.length > 0 ? tx`, node_moved as (${movedInsert(tx, moved)})` : tx``}${
    stayed.length > 0 ? tx`, node_stayed as (${stayedInsert(tx, stayed)})` : tx``
  }`;
}

function nodeRows(writes: NodeStateWrite[]) {
  // One row per node (the last word wins): an upsert must not touch a row twice.
  const byNode = new Map(writes.map((w) => [w.node, w]));
  const moved = [...byNode.values()].filter((w) => w.running).map((w) => ({
    node: w.node,
    commit_sha: w.running!.commitSha,
    deployment_id: w.deploymentId,
    outcome: w.outcome,
    packages: w.running!.packages,
  }));
  const stayed = [...byNode.values()].filter((w) => !w.running)
    .map((w) => ({ node: w.node, outcome: w.outcome }));
  return { moved, stayed };
}

type Moved = ReturnType<typeof nodeRows>["moved"];

function movedInsert(sql: Sql | Tx, moved: Moved) {
  return sql`
      insert into node_state (node, commit_sha, deployment_id, activated_at, outcome, packages,
                              updated_at)
      select node, commit_sha, deployment_id, now(), outcome, packages, now()
      from jsonb_to_recordset(${sql.json(moved as never)})
        as t(node text, commit_sha text, deployment_id uuid, outcome text, packages jsonb)
      on conflict (node) do update set
        commit_sha = excluded.commit_sha, deployment_id = excluded.deployment_id,
        activated_at = excluded.activated_at, outcome = excluded.outcome,
        packages = excluded.packages, updated_at = excluded.updated_at,
        -- What it runs changed: drift is unknown until the next check.
        running_system = null, drift = null`;
}

/** The node did not change what it runs; only the last outcome is news. */
function stayedInsert(sql: Sql | Tx, stayed: { node: string; outcome: string }[]) {
  return sql`
      insert into node_state (node, outcome, updated_at)
      select node, outcome, now()
      from jsonb_to_recordset(${sql.json(stayed as never)}) as t(node text, outcome text)
      on conflict (node) do update set outcome = excluded.outcome, updated_at = now()`;
}

export async function nodeStates(sql: Sql): Promise<NodeStateRow[]> {
  return await sql<NodeStateRow[]>`
    select node, commit_sha, deployment_id, activated_at, outcome, packages, updated_at, tags,
           expected_system, running_system, reachable, drift, checked_at
    from node_state order by node`;
}

/** One node's drift check: what it should run, what it runs, and whether it answered. */
export interface NodeCheckWrite {
  node: string;
  tags: string[];
  expected: string | null;
  running: string | null;
  reachable: boolean;
  /** null when unreachable. */
  drift: boolean | null;
  message: string | null;
}

/** One drift check: a history row per node, and each node's latest view. */
export async function recordNodeChecks(
  sql: Sql,
  checkedAt: Date,
  checks: NodeCheckWrite[],
): Promise<void> {
  await sql.begin(async (tx) => {
    for (const c of checks) {
      await tx`
        insert into node_check (checked_at, node, tags, expected_system, running_system,
                                reachable, drift, message)
        values (${checkedAt}, ${c.node}, ${tx.json(c.tags as never)}, ${c.expected},
                ${c.running}, ${c.reachable}, ${c.drift}, ${c.message})`;
      await tx`
        insert into node_state (node, outcome, tags, expected_system, running_system, reachable,
                                drift, checked_at, updated_at)
        values (${c.node}, 'observed', ${tx.json(c.tags as never)}, ${c.expected}, ${c.running},
                ${c.reachable}, ${c.drift}, ${checkedAt}, now())
        on conflict (node) do update set
          tags = excluded.tags, expected_system = excluded.expected_system,
          running_system = excluded.running_system, reachable = excluded.reachable,
          drift = excluded.drift, checked_at = excluded.checked_at`;
    }
  });
}

export interface HoldRow {
  package: string;
  deploymentId: string;
  reason: string;
  heldAt: Date;
}

export async function holdPackage(
  sql: Sql | Tx,
  h: { package: string; deploymentId: string; reason: string },
): Promise<void> {
  await sql`
    insert into package_hold (package, deployment_id, reason)
    values (${h.package}, ${h.deploymentId}, ${h.reason})
    on conflict (package) do update set deployment_id = excluded.deployment_id,
      reason = excluded.reason, held_at = now()`;
}

export async function holdOf(sql: Sql | Tx, pkg: string): Promise<HoldRow | undefined> {
  const [row] = await sql<HoldRow[]>`
    select package, deployment_id, reason, held_at from package_hold where package = ${pkg}`;
  return row;
}

export async function holds(sql: Sql): Promise<HoldRow[]> {
  return await sql<HoldRow[]>`
    select package, deployment_id, reason, held_at from package_hold order by package`;
}

/** Ends a hold; the released row, or undefined when the package was not held. */
export async function releaseHold(sql: Sql, pkg: string): Promise<HoldRow | undefined> {
  const [row] = await sql<HoldRow[]>`
    delete from package_hold where package = ${pkg}
    returning package, deployment_id, reason, held_at`;
  return row;
}
