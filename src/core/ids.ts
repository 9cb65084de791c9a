/**
 * Identifiers and digests every store uses: row ids are UUIDs (checked
 * before they reach a `::uuid` column, so a malformed id is a 404, not a
 * database error), and secrets are stored as the SHA-256 of their value.
 */

import { createHash } from "node:crypto";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
  return UUID.test(s);
}

/** Lower-case hex of `bytes`. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Hex SHA-256 of the UTF-8 encoding of `text`. */
export async function sha256Hex(text: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

/**
 * The same, synchronously: for a short text (a bearer token on every
 * request) one call, where WebCrypto's digest costs a promise and an op.
 */
export function sha256HexSync(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
