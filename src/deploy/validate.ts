/**
 * The webhook's request: field by field, every problem listed at once (400
 * invalid_request with details). Checks shape and syntax only; whether the
 * package exists and whether flake_ref points at the input's repository
 * need the flake and live in service.ts.
 */

import { type FieldProblem, invalidRequest } from "../core/errors.ts";
import { FlakeRefError, parseFlakeRef, schemeProblem } from "./flake_ref.ts";

export interface WebhookRequest {
  package: string;
  version: string;
  nixStorePath: string;
  flakeRef: string | null;
}

export const WEBHOOK_FIELDS = ["package", "version", "nix_store_path", "flake_ref"] as const;

const PACKAGE = /^[A-Za-z0-9_][A-Za-z0-9._'-]{0,99}$/;
const VERSION = /^[^\s\p{Cc}\p{Cf}]+$/u;
// nix-base32 leaves out e, o, u and t; names are what nix allows in a store path.
const STORE_PATH =
  /^\/nix\/store\/[0-9abcdfghijklmnpqrsvwxyz]{32}-[A-Za-z0-9+\-_?=][A-Za-z0-9+\-._?=]*$/;

export function validatePackageName(v: unknown): string | undefined {
  if (typeof v !== "string" || v === "") return "required, the name of a flake input";
  if (!PACKAGE.test(v)) return "must be a flake input name (letters, digits, . _ ' -)";
  return undefined;
}

export function validateVersion(v: unknown): string | undefined {
  if (typeof v !== "string" || v === "") return "required, a non-empty string";
  if ([...v].length > 128) return "at most 128 characters";
  if (!VERSION.test(v)) return "must not contain whitespace or control characters";
  return undefined;
}

export function validateFlakeRef(v: string, schemes: readonly string[]): string | undefined {
  try {
    return schemeProblem(parseFlakeRef(v), schemes);
  } catch (e) {
    if (e instanceof FlakeRefError) return e.message;
    throw e;
  }
}

export function parseWebhook(
  body: Record<string, unknown>,
  schemes: readonly string[],
): WebhookRequest {
  const problems: FieldProblem[] = [];
  const add = (field: string, message: string | undefined) =>
    message && problems.push({ field, message });
  add("package", validatePackageName(body.package));
  add("version", validateVersion(body.version));
  const sp = body.nix_store_path;
  if (typeof sp !== "string" || sp === "") {
    add("nix_store_path", "required, a /nix/store path");
  } else if (!STORE_PATH.test(sp) || sp.length > 256) {
    add("nix_store_path", "must be /nix/store/<32 nix-base32 characters>-<name> and nothing else");
  }
  const ref = body.flake_ref;
  if (ref !== undefined && ref !== null) {
    if (typeof ref !== "string" || ref === "") add("flake_ref", "must be a flake reference string");
    else add("flake_ref", validateFlakeRef(ref, schemes));
  }
  if (problems.length > 0) throw invalidRequest(problems);
  return {
    package: body.package as string,
    version: body.version as string,
    nixStorePath: sp as string,
    flakeRef: (ref as string | null | undefined) ?? null,
  };
}
