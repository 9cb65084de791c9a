/**
 * The sealed_secret table: every credential despacito keeps to use again,
 * sealed under the server key. Callers store a plaintext and get an id;
 * they read it back only when they are about to use it. Owns re-sealing all
 * of them under a new key in one transaction. Never returns, logs or stores
 * a plaintext anywhere else; `last4` is the only plaintext-derived column.
 */

import type postgres from "postgres";
import type { Sql } from "../db/connect.ts";
import { createSealer, sealedKeyId, type Sealer, SealError } from "./box.ts";

/** A transaction or the pool: both run queries the same way. */
export type Queryable = postgres.ISql<Record<string, never>>;

export type SecretPurpose = "forge_token" | "webhook_secret";

export function last4(secret: string): string {
  return secret.slice(-4);
}

export async function putSecret(
  q: Queryable,
  sealer: Sealer,
  purpose: SecretPurpose,
  plaintext: string,
): Promise<string> {
  const [row] = await q<{ id: string }[]>`
    insert into sealed_secret (purpose, sealed, last4)
    values (${purpose}, ${sealer.seal(plaintext)}, ${last4(plaintext)})
    returning id`;
  return row.id;
}

export async function readSecret(q: Queryable, sealer: Sealer, id: string): Promise<string> {
  const [row] = await q<{ sealed: string }[]>`select sealed from sealed_secret where id = ${id}`;
  if (!row) throw new SealError(`sealed secret ${id} does not exist`);
  return sealer.open(row.sealed);
}

export async function deleteSecrets(q: Queryable, ids: (string | null | undefined)[]) {
  const present = ids.filter((x): x is string => !!x);
  if (present.length > 0) await q`delete from sealed_secret where id = any(${present}::uuid[])`;
}

/**
 * Re-seals every stored secret from `oldKey` to `newKey` in one transaction;
 * nothing changes if any secret cannot be opened. Returns how many.
 */
export async function resealAll(
  sql: Sql,
  oldKey: Uint8Array,
  newKey: Uint8Array,
): Promise<number> {
  const from = createSealer(oldKey);
  const to = createSealer(newKey);
  return await sql.begin(async (tx) => {
    const rows = await tx<{ id: string; sealed: string }[]>`
      select id, sealed from sealed_secret order by id for update`;
    const foreign = rows.filter((r) => sealedKeyId(r.sealed) !== from.keyId);
    if (foreign.length > 0) {
      throw new SealError(
        `${foreign.length} stored secret(s) are not sealed under the current key ${from.keyId} ` +
          `(e.g. ${sealedKeyId(foreign[0].sealed) ?? "unknown"}); nothing was changed`,
      );
    }
    for (const r of rows) {
      await tx`
        update sealed_secret set sealed = ${to.seal(from.open(r.sealed))}, updated_at = now()
        where id = ${r.id}`;
    }
    return rows.length;
  });
}
