/**
 * Bearer tokens for machines: 256 random bits shown once, stored only as a
 * SHA-256, checked with one indexed lookup. Owns creation (including the
 * bootstrap rule: open while no token has ever existed), listing, revocation
 * and verification. Never stores or logs a raw token.
 */

import type { Sql } from "../db/connect.ts";
import { DomainError, type FieldProblem, invalidRequest } from "../core/errors.ts";
import { parseDuration } from "../core/duration.ts";
import { hex, isUuid, sha256Hex, sha256HexSync } from "../core/ids.ts";
import type { TokenCache } from "./token_cache.ts";

export interface TokenRecord {
  id: string;
  description: string;
  packages: string[] | null;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

export interface NewToken {
  description: string;
  expiresInMs?: number;
  packages?: string[] | null;
}

export interface CreatedToken extends TokenRecord {
  /** The raw token; returned exactly once, at creation. */
  token: string;
}

export type TokenCheck =
  | { ok: true; token: TokenRecord }
  | { ok: false; reason: "malformed" | "unknown" | "revoked" | "expired"; tokenId?: string };

const TOKEN_FORMAT = /^[0-9a-f]{64}$/;
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
// Bootstrap decisions serialise on this lock so two first requests cannot both get in.
const BOOTSTRAP_LOCK = 0x746f6b656e73n; // "tokens"

function randomToken(): string {
  return hex(crypto.getRandomValues(new Uint8Array(32)));
}

/** Validates the POST /api/tokens body; lists every problem. */
export function parseNewToken(body: Record<string, unknown>): NewToken {
  const problems: FieldProblem[] = [];
  const { description, expires_in: expiresIn, packages } = body;
  if (typeof description !== "string" || description.trim() === "") {
    problems.push({ field: "description", message: "required, a non-empty string" });
  } else if (description.length > 200) {
    problems.push({ field: "description", message: "at most 200 characters" });
  }
  let expiresInMs: number | undefined;
  if (expiresIn !== undefined && expiresIn !== null) {
    const ms = typeof expiresIn === "string" ? parseDuration(expiresIn) : undefined;
    if (ms === undefined || ms <= 0) {
      problems.push({
        field: "expires_in",
        message: 'a positive duration such as "720h", "90m" or "30d"',
      });
    } else if (ms > 3650 * 86_400_000) {
      problems.push({ field: "expires_in", message: "at most 3650d" });
    } else expiresInMs = ms;
  }
  let pkgs: string[] | null = null;
  if (packages !== undefined && packages !== null) {
    if (!Array.isArray(packages) || packages.length === 0) {
      problems.push({
        field: "packages",
        message: "a non-empty array of package names, or omit it for all",
      });
    } else {
      const bad = packages.filter((p) => typeof p !== "string" || !PACKAGE_NAME.test(p));
      if (bad.length > 0) {
        problems.push({
          field: "packages",
          message: "each entry must be a package (flake input) name",
        });
      } else pkgs = [...new Set(packages as string[])];
    }
  }
  if (problems.length > 0) throw invalidRequest(problems);
  return { description: (description as string).trim(), expiresInMs, packages: pkgs };
}

export interface Creator {
  userId?: string;
  tokenId?: string;
}

/**
 * Creates a token. With `bootstrap: true` the caller has no credentials and
 * is only let in while the table has never held a token.
 */
export async function createToken(
  sql: Sql,
  input: NewToken,
  options: { creator?: Creator; bootstrap?: boolean } = {},
): Promise<CreatedToken> {
  const token = randomToken();
  const hash = await sha256Hex(token);
  const expiresAt = input.expiresInMs === undefined
    ? null
    : new Date(Date.now() + input.expiresInMs);
  return await sql.begin(async (tx) => {
    if (options.bootstrap) {
      await tx`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK.toString()}::bigint)`;
      const [{ exists }] = await tx<
        { exists: boolean }[]
      >`select exists (select 1 from auth_token)`;
      if (exists) {
        throw new DomainError(
          "unauthenticated",
          "unauthenticated",
          "a bearer token or session is required",
        );
      }
    }
    const [row] = await tx<TokenRecord[]>`
      insert into auth_token (token_sha256, description, packages, expires_at, created_by_user_id, created_by_token_id)
      values (${hash}, ${input.description}, ${input.packages ?? null}, ${expiresAt},
              ${options.creator?.userId ?? null}, ${options.creator?.tokenId ?? null})
      returning id, description, packages, created_at, expires_at, revoked_at, last_used_at`;
    return { ...row, token };
  });
}

/** True while no token has ever been created (bootstrap may be open). */
export async function noTokensYet(sql: Sql): Promise<boolean> {
  const [{ exists }] = await sql<{ exists: boolean }[]>`select exists (select 1 from auth_token)`;
  return !exists;
}

export async function listTokens(sql: Sql): Promise<TokenRecord[]> {
  return await sql<TokenRecord[]>`
    select id, description, packages, created_at, expires_at, revoked_at, last_used_at
    from auth_token order by created_at desc, id`;
}

/** Revokes a token; false when there is no such (unrevoked) token. */
export async function revokeToken(sql: Sql, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  const rows = await sql`
    update auth_token set revoked_at = now() where id = ${id} and revoked_at is null returning id`;
  return rows.length > 0;
}

/**
 * One indexed lookup by hash, or none while `cache` remembers the token as
 * valid (src/auth/token_cache.ts); also notes the use (at most once a
 * minute per token).
 */
export async function verifyToken(
  sql: Sql,
  raw: string,
  now = new Date(),
  cache?: TokenCache,
): Promise<TokenCheck> {
  if (!TOKEN_FORMAT.test(raw)) return { ok: false, reason: "malformed" };
  const hash = sha256HexSync(raw);
  let row = cache?.get(hash);
  if (!row) {
    const mark = cache?.mark() ?? 0;
    [row] = await sql<TokenRecord[]>`
      select id, description, packages, created_at, expires_at, revoked_at, last_used_at
      from auth_token where token_sha256 = ${hash}`;
    if (!row) return { ok: false, reason: "unknown" };
    if (row.revokedAt) return { ok: false, reason: "revoked", tokenId: row.id };
    cache?.put(hash, row, mark);
  }
  if (row.expiresAt && row.expiresAt <= now) {
    return { ok: false, reason: "expired", tokenId: row.id };
  }
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > 60_000) {
    // Noted first, so the requests that follow while this update runs do not repeat it.
    row.lastUsedAt = now;
    await sql`update auth_token set last_used_at = now() where id = ${row.id}`;
  }
  return { ok: true, token: row };
}

/** The JSON shape of a token in API responses: metadata only, never the hash. */
export function tokenJson(t: TokenRecord) {
  return {
    id: t.id,
    description: t.description,
    packages: t.packages,
    created_at: t.createdAt.toISOString(),
    expires_at: t.expiresAt?.toISOString() ?? null,
    revoked_at: t.revokedAt?.toISOString() ?? null,
    last_used_at: t.lastUsedAt?.toISOString() ?? null,
  };
}
