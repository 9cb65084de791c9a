/** Parses GET /api/audit's query into a filter, listing every bad field at once. */

import { AUDIT_ACTIONS } from "../core/audit.ts";
import { type FieldProblem, invalidRequest } from "../core/errors.ts";
import type { AuditFilter } from "./audit_store.ts";

const KNOWN = new Set(["action", "actor", "target", "since", "until", "cursor", "limit"]);
export const AUDIT_PAGE_MAX = 500;
const DEFAULT_LIMIT = 100;

export function parseAuditQuery(q: Record<string, string>): AuditFilter {
  const problems: FieldProblem[] = [];
  for (const k of Object.keys(q)) {
    if (!KNOWN.has(k)) problems.push({ field: k, message: "unknown query parameter" });
  }
  const f: AuditFilter = { limit: DEFAULT_LIMIT };
  if (q.action !== undefined) {
    if ((AUDIT_ACTIONS as readonly string[]).includes(q.action)) f.action = q.action;
    else problems.push({ field: "action", message: `must be one of ${AUDIT_ACTIONS.join(", ")}` });
  }
  if (q.actor) f.actor = q.actor;
  if (q.target) f.target = q.target;
  for (const k of ["since", "until"] as const) {
    if (q[k] === undefined) continue;
    const d = new Date(q[k]);
    if (!/^\d{4}-\d\d-\d\d/.test(q[k]) || Number.isNaN(d.getTime())) {
      problems.push({ field: k, message: "must be an ISO 8601 date or time" });
    } else f[k] = d;
  }
  if (q.cursor !== undefined) {
    if (/^[1-9]\d{0,15}$/.test(q.cursor)) f.before = Number(q.cursor);
    else problems.push({ field: "cursor", message: "must be the next_cursor of a previous page" });
  }
  if (q.limit !== undefined) {
    const n = Number(q.limit);
    if (/^\d+$/.test(q.limit) && n >= 1 && n <= AUDIT_PAGE_MAX) f.limit = n;
    else {problems.push({
        field: "limit",
        message: `must be an integer from 1 to ${AUDIT_PAGE_MAX}`,
      });}
  }
  if (problems.length > 0) throw invalidRequest(problems);
  return f;
}
