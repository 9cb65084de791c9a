/**
 * The server key that seals stored secrets: read from
 * DESPACITO_SECRET_KEY_FILE when set, otherwise from `secret.key` in the
 * data dir, generated there once (mode 0600) on first use. The file holds
 * the 32-byte key in base64 on one line. Owns reading, creating and
 * replacing that file; never logs the key, only its id (box.ts keyId).
 */

import { join } from "node:path";
import { fromBase64, KEY_BYTES, keyId, toBase64 } from "./box.ts";
import type { Logger } from "../log/log.ts";

export interface KeyLocation {
  path: string;
  /** True when the operator named the file (DESPACITO_SECRET_KEY_FILE). */
  configured: boolean;
}

export interface ServerKey {
  key: Uint8Array;
  id: string;
  path: string;
}

export class KeyFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KeyFileError";
  }
}

export function keyLocation(config: { secretKeyFile?: string; dataDir: string }): KeyLocation {
  return config.secretKeyFile
    ? { path: config.secretKeyFile, configured: true }
    : { path: join(config.dataDir, "secret.key"), configured: false };
}

export function parseKeyFile(text: string, path: string): Uint8Array {
  let key: Uint8Array;
  try {
    key = fromBase64(text.trim());
  } catch (e) {
    throw new KeyFileError(`${path}: the server key must be base64`, { cause: e });
  }
  if (key.length !== KEY_BYTES) {
    throw new KeyFileError(
      `${path}: the server key must be ${KEY_BYTES} bytes of base64 (e.g. \`head -c32 /dev/urandom | base64\`), got ${key.length} bytes`,
    );
  }
  return key;
}

export function formatKeyFile(key: Uint8Array): string {
  return toBase64(key) + "\n";
}

/** Reads the key; undefined when the file does not exist. */
export async function readKey(path: string): Promise<ServerKey | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new KeyFileError(`cannot read the server key ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const key = parseKeyFile(text, path);
  return { key, id: keyId(key), path };
}

/** Writes a key to a new file with mode 0600; fails if the file exists. */
export async function writeNewKeyFile(path: string, key: Uint8Array): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  try {
    await file.write(new TextEncoder().encode(formatKeyFile(key)));
    await file.syncData();
  } finally {
    file.close();
  }
  // The mode given to open is filtered by the umask; make sure it is exactly 0600.
  await Deno.chmod(path, 0o600);
}

/**
 * The server key for `serve`: the configured file (which must exist), or the
 * data dir's secret.key, created on first use.
 */
export async function loadOrCreateKey(
  config: { secretKeyFile?: string; dataDir: string },
  log: Logger,
): Promise<ServerKey> {
  const loc = keyLocation(config);
  const existing = await readKey(loc.path);
  if (existing) {
    await warnIfReadableByOthers(loc.path, log);
    return existing;
  }
  if (loc.configured) {
    throw new KeyFileError(
      `DESPACITO_SECRET_KEY_FILE names ${loc.path}, which does not exist. ` +
        "Create it with `head -c32 /dev/urandom | base64 > FILE` or unset the variable " +
        "to let despacito generate secret.key in the data dir.",
    );
  }
  await Deno.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const key = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
  try {
    await writeNewKeyFile(loc.path, key);
  } catch (e) {
    // Another process created it first: use theirs.
    if (e instanceof Deno.errors.AlreadyExists) {
      const theirs = await readKey(loc.path);
      if (theirs) return theirs;
    }
    throw new KeyFileError(`cannot create the server key ${loc.path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  log.info("generated the server key that seals stored secrets; back it up", {
    component: "secrets",
    path: loc.path,
    key_id: keyId(key),
  });
  return { key, id: keyId(key), path: loc.path };
}

async function warnIfReadableByOthers(path: string, log: Logger) {
  try {
    const st = await Deno.stat(path);
    if (st.mode !== null && (st.mode & 0o077) !== 0) {
      log.warn("the server key file is readable by group or others; chmod 600 it", {
        component: "secrets",
        path,
        mode: (st.mode & 0o777).toString(8),
      });
    }
  } catch { /* stat failing right after a read is not worth failing start-up */ }
}
