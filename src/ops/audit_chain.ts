/**
 * The audit trail's hash chain, pure: the canonical form of a row, its
 * hash, and the walk that finds the first row that was edited, deleted or
 * reordered. No I/O here; src/ops/audit_store.ts reads and writes rows.
 *
 * hash(row) = SHA-256(prev_hash + "\n" + canonical(row)), where canonical
 * is a JSON array of the row's fields in a fixed order with object keys
 * sorted (PostgreSQL's jsonb does not keep key order). The first row's
 * prev_hash is 64 zeros. Ids are consecutive from 1, so a deleted row
 * leaves a gap even when the chain around it were recomputed.
 */

import type { ActorKind } from "../core/audit.ts";
import { sha256Hex } from "./hash.ts";

export const GENESIS = "0".repeat(64);

export interface AuditRow {
  id: number;
  at: Date;
  actorKind: ActorKind;
  actorId: string | null;
  actorLabel: string | null;
  action: string;
  target: string | null;
  requestId: string | null;
  clientAddress: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export type ChainContent = Omit<AuditRow, "prevHash" | "hash">;

export function canonical(r: ChainContent): string {
  return JSON.stringify([
    r.id,
    r.at.toISOString(),
    r.actorKind,
    r.actorId,
    r.actorLabel,
    r.action,
    r.target,
    r.requestId,
    r.clientAddress,
    sortKeys(r.details),
  ]);
}

/**
 * canonical(r) after its leading "[<id>,": what despacito_audit_append()
 * hashes behind the id it assigns under the chain's lock.
 */
export function canonicalAfterId(r: ChainContent): string {
  const whole = canonical({ ...r, id: 0 });
  return whole.slice("[0,".length);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object" && !(v instanceof Date)) {
    return Object.fromEntries(
      Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

export function chainHash(prevHash: string, content: ChainContent): Promise<string> {
  return sha256Hex(`${prevHash}\n${canonical(content)}`);
}

export type ProblemKind = "edited" | "deleted" | "reordered" | "truncated" | "head_missing";

export interface ChainProblem {
  /** The first row that is wrong (for "deleted": the missing id). */
  rowId: number;
  kind: ProblemKind;
  message: string;
}

/**
 * Walks rows in id order. Feed it with `next(row)` and finish with
 * `end(head)`; it stops at the first problem.
 */
export function createVerifier() {
  let expectedId = 1;
  let prevHash = GENESIS;
  let problem: ChainProblem | undefined;
  let rows = 0;
  return {
    get problem() {
      return problem;
    },
    get rows() {
      return rows;
    },
    async next(row: AuditRow): Promise<boolean> {
      if (problem) return false;
      rows++;
      const recomputed = await chainHash(row.prevHash, row);
      if (row.id !== expectedId) {
        problem = row.id > expectedId
          ? {
            rowId: expectedId,
            kind: "deleted",
            message: `row ${expectedId} is missing: it was deleted (the next row is ${row.id})`,
          }
          : { rowId: row.id, kind: "reordered", message: `row ${row.id} is out of order` };
      } else if (recomputed !== row.hash) {
        problem = {
          rowId: row.id,
          kind: "edited",
          message: `row ${row.id} does not match its hash: it was edited or swapped`,
        };
      } else if (row.prevHash !== prevHash) {
        problem = {
          rowId: row.id,
          kind: "reordered",
          message: `row ${row.id} does not follow row ${
            row.id - 1
          }: rows were reordered or rewritten`,
        };
      }
      expectedId = row.id + 1;
      prevHash = row.hash;
      return problem === undefined;
    },
    /** Compares the end of the walk with the recorded head (deleting the newest rows shows here). */
    end(head: { lastId: number; hash: string } | undefined): ChainProblem | undefined {
      if (problem) return problem;
      const lastId = expectedId - 1;
      if (!head) {
        if (lastId > 0) {
          problem = {
            rowId: lastId,
            kind: "head_missing",
            message: "the chain head record is missing",
          };
        }
        return problem;
      }
      if (head.lastId > lastId) {
        problem = {
          rowId: lastId + 1,
          kind: "truncated",
          message: `rows ${lastId + 1}..${head.lastId} were deleted from the end of the trail`,
        };
      } else if (head.lastId < lastId || head.hash !== prevHash) {
        problem = {
          rowId: head.lastId + 1 > lastId ? lastId : head.lastId + 1,
          kind: "edited",
          message: `the trail does not end where its head record says (row ${head.lastId})`,
        };
      }
      return problem;
    },
  };
}
