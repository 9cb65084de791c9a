/**
 * Reading JSON request bodies without ever producing a 500: a body that is
 * not declared `application/json` is 415; malformed JSON, a non-object,
 * unknown fields and text with control, bidi-override or zero-width
 * characters (anywhere, keys included) are 400s naming each field. Field-level
 * validation stays with each domain.
 */

import { DomainError, type FieldProblem, invalidRequest } from "../core/errors.ts";
import type { AppContext } from "./types.ts";

/** Parses the body as a JSON object whose keys are all in `allowed`. */
export async function readJsonObject(
  c: AppContext,
  allowed: readonly string[],
): Promise<Record<string, unknown>> {
  const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") {
    throw new DomainError(
      "unsupported_media_type",
      "unsupported_media_type",
      `Content-Type must be application/json${type ? `, not ${type}` : ""}`,
    );
  }
  let text: string;
  try {
    text = await c.req.text();
  } catch (e) {
    // The body guard (middleware.ts) fails the read with its 413, 408 or 400.
    if (e instanceof DomainError) throw e;
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
  const hidden = hiddenCharacters(value);
  if (hidden.length > 0) throw invalidRequest(hidden);
  return value as Record<string, unknown>;
}

/**
 * C0/C1 controls (NUL included: PostgreSQL refuses it in text), DEL, bidi
 * overrides and isolates, zero-width characters and line/paragraph
 * separators: never meaningful in a name, version, ref or description, and
 * the means to make one look like another in the UI.
 */
export const HIDDEN_CHARACTERS =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

/** Every string (and key) under `value` that holds a hidden character, by field path. */
export function hiddenCharacters(value: unknown, path = ""): FieldProblem[] {
  const message = "must not contain control, bidi-override or zero-width characters";
  if (typeof value === "string") {
    return HIDDEN_CHARACTERS.test(value) ? [{ field: path || "(body)", message }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => hiddenCharacters(v, `${path}[${i}]`));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => {
      const field = path ? `${path}.${k}` : k;
      return HIDDEN_CHARACTERS.test(k)
        ? [{ field: field.replace(HIDDEN_CHARACTERS, "?"), message }]
        : hiddenCharacters(v, field);
    });
  }
  return [];
}
