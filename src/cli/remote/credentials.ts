/**
 * Where `despacito login` keeps what it obtained:
 * `$XDG_CONFIG_HOME/despacito/credentials.json` (else
 * `$HOME/.config/despacito/…`), mode 0600 in a 0700 directory, written
 * atomically (a new file renamed over the old). `withRefreshLock` lets
 * concurrent CLI processes share one sign-in: refreshing spends the refresh
 * token, so two processes refreshing the same one would look like theft to
 * the server and revoke the sign-in.
 */

export interface Credentials {
  server: string;
  access_token: string;
  refresh_token: string;
  /** When the access token ends (ISO 8601). */
  expires_at: string;
  client_id: string;
  token_endpoint: string;
  revocation_endpoint: string;
}

/** A variable this process may not read (a binary built with the server's flags) counts as unset. */
function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) return undefined;
    throw e;
  }
}

export function credentialsDir(env = readEnv): string | undefined {
  const xdg = env("XDG_CONFIG_HOME");
  if (xdg && xdg.startsWith("/")) return `${xdg}/despacito`;
  const home = env("HOME");
  return home ? `${home}/.config/despacito` : undefined;
}

export function credentialsPath(dir: string): string {
  return `${dir}/credentials.json`;
}

export async function loadCredentials(dir: string): Promise<Credentials | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(credentialsPath(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  const c = JSON.parse(text) as Partial<Credentials>;
  const fields = [
    "server",
    "access_token",
    "refresh_token",
    "expires_at",
    "client_id",
    "token_endpoint",
    "revocation_endpoint",
  ] as const;
  if (fields.some((f) => typeof c[f] !== "string")) {
    throw new Error(`${credentialsPath(dir)} is not a despacito credentials file`);
  }
  return c as Credentials;
}

export async function saveCredentials(dir: string, c: Credentials): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const path = credentialsPath(dir);
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(c, null, 2) + "\n", { mode: 0o600 });
  // writeTextFile's mode is subject to the umask; make sure of 0600.
  await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, path);
}

export async function deleteCredentials(dir: string): Promise<boolean> {
  try {
    await Deno.remove(credentialsPath(dir));
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Runs `fn` holding an exclusive lock on the credentials (a lock file beside them). */
export async function withRefreshLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const lock = await Deno.open(`${dir}/credentials.lock`, {
    create: true,
    write: true,
    mode: 0o600,
  });
  try {
    await lock.lock(true);
    return await fn();
  } finally {
    lock.close();
  }
}
