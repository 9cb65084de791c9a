/**
 * The audit_log table in plain SQL: append one chained row under a lock,
 * list with filters and a cursor, and walk the whole chain for verify.
 * Takes the `sql` handle; knows nothing of HTTP.
 */

import type { AuditEntry, AuditSink, PreparedAudit } from "../core/audit.ts";
import type { Sql } from "../db/connect.ts";
import type { Logger } from "../log/log.ts";
import {
  type AuditRow,
  canonicalAfterId,
  type ChainProblem,
  createVerifier,
} from "./audit_chain.ts";

/** A row as postgres.js returns it (camelCase columns; bigint as string). */
type RawRow = Omit<AuditRow, "id"> & { id: string };

function fromRaw(r: RawRow): AuditRow {
  return { ...r, id: Number(r.id), details: r.details ?? {} };
}

/**
 * Appends one row in one round trip: despacito_audit_append()
 * (migrations/0017_admission.sql) takes the lock, numbers the row after the
 * true head and hashes it there, so the lock is never held across the
 * network. The canonical form stays this module's (audit_chain.ts): the
 * function only prepends the id it assigned.
 */
export async function appendAudit(sql: Sql, e: AuditEntry): Promise<AuditRow> {
  const p = prepareAudit(e);
  const [row] = await sql<{ rowId: string; rowPrevHash: string; rowHash: string }[]>`
    select row_id, row_prev_hash, row_hash from despacito_audit_append(
      ${p.at}, ${p.actorKind}, ${p.actorId}, ${p.actorLabel}, ${p.action}, ${p.target},
      ${p.requestId}, ${p.clientAddress}, ${sql.json(p.details as never)}, ${p.rest})`;
  const { rest: _, ...content } = p;
  return { ...content, id: Number(row.rowId), prevHash: row.rowPrevHash, hash: row.rowHash };
}

/** The row's fields and its canonical form after the id, for despacito_audit_append(). */
export function prepareAudit(e: AuditEntry): PreparedAudit {
  const content = {
    at: new Date(),
    actorKind: e.actor.kind,
    actorId: e.actor.id ?? null,
    actorLabel: e.actor.label ?? null,
    action: e.action,
    target: e.target ?? null,
    requestId: e.requestId ?? null,
    clientAddress: e.clientAddress ?? null,
    // Round-trip through JSON so what is hashed is exactly what jsonb stores.
    details: JSON.parse(JSON.stringify(e.details ?? {})),
  };
  return { ...content, rest: canonicalAfterId({ ...content, id: 0 }) };
}

export interface AuditFilter {
  action?: string;
  actor?: string;
  target?: string;
  since?: Date;
  until?: Date;
  /** Cursor: rows with a smaller id (newest first). */
  before?: number;
  limit: number;
}

const COLUMNS = `id, at, actor_kind, actor_id, actor_label, action, target, request_id,
  client_address, details, prev_hash, hash`;

export async function listAudit(sql: Sql, f: AuditFilter): Promise<AuditRow[]> {
  const rows = await sql<RawRow[]>`
    select ${sql.unsafe(COLUMNS)} from audit_log
    where (${f.action ?? null}::text is null or action = ${f.action ?? null})
      and (${f.actor ?? null}::text is null
           or actor_id = ${f.actor ?? null} or actor_label = ${f.actor ?? null})
      and (${f.target ?? null}::text is null or target = ${f.target ?? null})
      and (${f.since ?? null}::timestamptz is null or at >= ${f.since ?? null})
      and (${f.until ?? null}::timestamptz is null or at < ${f.until ?? null})
      and (${f.before ?? null}::bigint is null or id < ${f.before ?? null})
    order by id desc
    limit ${f.limit}`;
  return rows.map(fromRaw);
}

export interface VerifyResult {
  ok: boolean;
  rows: number;
  head: { id: number; hash: string } | null;
  problem: ChainProblem | null;
}

/** Walks the whole chain in pages of 1000 rows, stopping at the first problem. */
export async function verifyAudit(sql: Sql): Promise<VerifyResult> {
  const v = createVerifier();
  let after = 0;
  for (;;) {
    const page = await sql<RawRow[]>`
      select ${sql.unsafe(COLUMNS)} from audit_log where id > ${after} order by id limit 1000`;
    for (const raw of page) {
      if (!(await v.next(fromRaw(raw)))) break;
    }
    if (v.problem || page.length < 1000) break;
    after = Number(page[page.length - 1].id);
  }
  const [head] = await sql<{ lastId: string; hash: string }[]>`
    select last_id, hash from audit_head where singleton`;
  const problem = v.end(head ? { lastId: Number(head.lastId), hash: head.hash } : undefined);
  return {
    ok: problem === undefined,
    rows: v.rows,
    head: head ? { id: Number(head.lastId), hash: head.hash } : null,
    problem: problem ?? null,
  };
}

/**
 * The sink areas call. An audit failure is logged loudly and rethrown: an
 * action the trail could not record must not look like it went unnoticed.
 */
export function createAuditSink(sql: Sql, log: Logger): AuditSink {
  return {
    prepare: prepareAudit,
    async record(entry) {
      try {
        await appendAudit(sql, entry);
      } catch (e) {
        log.error("could not append to the audit trail", {
          component: "audit",
          action: entry.action,
          error: e,
        });
        throw e;
      }
    },
  };
}

export function auditJson(r: AuditRow) {
  return {
    id: r.id,
    at: r.at.toISOString(),
    actor: { kind: r.actorKind, id: r.actorId, label: r.actorLabel },
    action: r.action,
    target: r.target,
    request_id: r.requestId,
    client_address: r.clientAddress,
    details: r.details,
    prev_hash: r.prevHash,
    hash: r.hash,
  };
}
