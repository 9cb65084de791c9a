/**
 * `despacito secrets rotate-key`: a new server key, every stored secret
 * re-sealed under it in one transaction, the old key kept only as a backup
 * file whose name says what it is. Order matters for recovery: the old key
 * is backed up first, the new key is written beside the old one, the
 * database is re-sealed, and only then the new key takes the old one's
 * place. Every failure says which file holds the key the database needs.
 */

import type { Sql } from "../db/connect.ts";
import { KEY_BYTES, keyId } from "./box.ts";
import { KeyFileError, readKey, writeNewKeyFile } from "./key.ts";
import { resealAll } from "./store.ts";

export interface RotationResult {
  resealed: number;
  oldKeyId: string;
  newKeyId: string;
  /** The old key; the operator deletes it once despacito runs fine. */
  backupPath: string;
}

export function backupPathFor(path: string, now: Date): string {
  const stamp = now.toISOString().replace(/[:.]/g, "").replace(/-/g, "");
  return `${path}.OLD-${stamp}.delete-after-checking`;
}

export async function rotateServerKey(
  options: { sql: Sql; keyPath: string; now?: Date },
): Promise<RotationResult> {
  const { sql, keyPath } = options;
  const old = await readKey(keyPath);
  if (!old) {
    throw new KeyFileError(`there is no server key at ${keyPath}; nothing to rotate`);
  }
  const fresh = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
  const backupPath = backupPathFor(keyPath, options.now ?? new Date());
  const pendingPath = `${keyPath}.new`;

  await writeNewKeyFile(backupPath, old.key);
  await Deno.remove(pendingPath).catch(() => {});
  await writeNewKeyFile(pendingPath, fresh);

  let resealed: number;
  try {
    resealed = await resealAll(sql, old.key, fresh);
  } catch (e) {
    // Nothing changed in the database: drop the new key and the needless backup.
    await Deno.remove(pendingPath).catch(() => {});
    await Deno.remove(backupPath).catch(() => {});
    throw e;
  }
  try {
    await Deno.rename(pendingPath, keyPath);
  } catch (e) {
    throw new KeyFileError(
      `the database is now sealed under the new key ${keyId(fresh)}, which is in ${pendingPath}, ` +
        `but it could not replace ${keyPath}: move it there by hand before starting despacito`,
      { cause: e },
    );
  }
  return { resealed, oldKeyId: old.id, newKeyId: keyId(fresh), backupPath };
}
