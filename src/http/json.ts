/**
 * Reading JSON request bodies without ever producing a 500: wrong content,
 * malformed JSON, a non-object or unknown fields are all 400s listing what
 * is wrong. Field-level validation stays with each domain.
 */

import { DomainError, type FieldProblem, invalidRequest } from "../core/errors.ts";
import type { AppContext } from "./types.ts";

/** Parses the body as a JSON object whose keys are all in `allowed`. */
export async function readJsonObject(
  c: AppContext,
  allowed: readonly string[],
): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await c.req.text();
  } catch (e) {
    // hono's body limit aborts the read with its own error; keep its 413.
    if (e instanceof Error && e.name === "BodyLimitError") throw e;
    throw new DomainError("invalid", "invalid_body", "could not read the request body", {
      cause: e,
    });
  }
  if (text.trim() === "") {
    throw new DomainError("invalid", "invalid_json", "request body must be a JSON object");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DomainError("invalid", "invalid_json", `malformed JSON: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new DomainError("invalid", "invalid_json", "request body must be a JSON object");
  }
  const unknown: FieldProblem[] = Object.keys(value)
    .filter((k) => !allowed.includes(k))
    .map((k) => ({ field: k, message: "unknown field" }));
  if (unknown.length > 0) throw invalidRequest(unknown);
  return value as Record<string, unknown>;
}
