/**
 * Shared by the operator CLI tests: despacito as it ships (a child process
 * under its production flags, real PostgreSQL) with a local account, the
 * CLI as it ships (runCli: the operator permission profile) with its own
 * XDG_CONFIG_HOME, `despacito login` driven through real Chromium, and the
 * OAuth endpoints spoken to directly for the protocol checks.
 */

import assert from "node:assert/strict";
import postgres from "postgres";
import type { Browser, Page } from "playwright-core";
import { hashPassword } from "../src/auth/passwords.ts";
import { createLocalUser } from "../src/auth/users.ts";
import type { Sql } from "../src/db/connect.ts";
import { launchChromium, screenshot } from "./_harness/chromium.ts";
import { freePort } from "./_harness/oidc_provider.ts";
import { freshDatabase } from "./_harness/postgres.ts";
import {
  type CliResult,
  denoRunArgs,
  type Env,
  REPO_DIR,
  runCli,
  type ServerProcess,
  spawnServer,
  waitFor,
} from "./_harness/server.ts";
import { bundleUi } from "../src/build/bundle_ui.ts";

export const PASSWORD = "correct horse battery";

export interface CliWorld {
  server: ServerProcess;
  url: string;
  port: number;
  /** The server's env (to restart it the same way). */
  serverEnv: Env;
  sql: Sql;
  /** XDG_CONFIG_HOME of the CLI. */
  configHome: string;
  credentialsFile: string;
  cli(args: string[], env?: Env): Promise<CliResult>;
  /** SIGTERM, `during` while it shuts down, then the same server again (same port). */
  restart(during?: () => Promise<void>): Promise<void>;
}

export interface WorldOptions {
  env?: Env;
  /** Server env from another harness (deploy flakes, fake colmena); its database is used. */
  base?: Env;
  /** The port to listen on (chosen first when an OIDC provider must know the callback). */
  port?: number;
}

export async function withCliWorld(options: WorldOptions, fn: (w: CliWorld) => Promise<void>) {
  await bundleUi();
  const db = options.base ? undefined : await freshDatabase();
  const dbUri = options.base?.DESPACITO_POSTGRES_CONNECTION_URI ?? db!.uri;
  const root = await Deno.makeTempDir({ prefix: "despacito-cli-" });
  const port = options.port ?? freePort();
  const serverEnv: Env = {
    DESPACITO_DATA_DIR: `${root}/data`,
    ...options.base,
    DESPACITO_POSTGRES_CONNECTION_URI: dbUri,
    DESPACITO_LISTEN: `127.0.0.1:${port}`,
    DESPACITO_SESSION_COOKIE_SECURE: "false",
    DESPACITO_SHUTDOWN_TIMEOUT: "5s",
    DESPACITO_AUTH_RATE_LIMIT: "1000",
    ...options.env,
  };
  const sql = postgres(dbUri, {
    max: 2,
    onnotice: () => {},
    transform: { column: { from: postgres.toCamel } },
  }) as unknown as Sql;
  let server: ServerProcess | undefined;
  try {
    server = await spawnServer({ env: serverEnv });
    const url = `http://127.0.0.1:${port}`;
    const configHome = `${root}/config`;
    const w: CliWorld = {
      server,
      url,
      port,
      serverEnv,
      sql,
      configHome,
      credentialsFile: `${configHome}/despacito/credentials.json`,
      cli: (args, env = {}) => runCli(args, { XDG_CONFIG_HOME: configHome, ...env }),
      restart: async (during) => {
        const stopped = w.server.stop();
        await during?.();
        await stopped;
        w.server = server = await spawnServer({ env: serverEnv });
      },
    };
    await fn(w);
  } finally {
    await server?.stop();
    await sql.end();
    await db?.drop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

export async function addUser(w: CliWorld, name: string) {
  return await createLocalUser(w.sql, name, await hashPassword(PASSWORD));
}

export interface Stored {
  server: string;
  access_token: string;
  refresh_token: string;
  expires_at: string;
}

export async function stored(w: CliWorld): Promise<Stored> {
  return JSON.parse(await Deno.readTextFile(w.credentialsFile));
}

/**
 * `despacito login URL` as a child process; a real Chromium opens the URL
 * it prints, signs in with the local form and presses Allow. Resolves with
 * the CLI's result.
 */
export async function browserLogin(
  w: CliWorld,
  username: string,
  browser?: Browser,
  signIn: (page: Page) => Promise<void> = (page) => signInLocally(page, username),
): Promise<CliResult> {
  const own = browser ? undefined : await launchChromium();
  const b = browser ?? own!;
  const p = spawnCli(w, ["login", w.url]);
  const child = p.child;
  const readErr = p.done;
  const stdoutText = p.done.then(() => p.stdout);

  try {
    const authorize = await waitFor(
      "the CLI to print the authorize URL",
      () => /^\s+(http\S+\/oauth\/authorize\?\S+)$/m.exec(p.stderr)?.[1],
    );
    const context = await b.newContext({ baseURL: w.url });
    const page = await context.newPage();
    await page.goto(authorize);
    await page.waitForURL((u) => u.pathname === "/signin");
    await signIn(page);
    await page.getByRole("heading", { name: /^Sign in despacito command line\?$/ }).waitFor();
    assert.ok(
      (await page.content()).includes(`127.0.0.1:`),
      "the consent page names the redirect host",
    );
    await screenshot(page, "cli-consent");
    await page.getByRole("button", { name: "Allow" }).click();
    await page.getByRole("heading", { name: "Signed in" }).waitFor();
    await context.close();
    const status = await child.status;
    await readErr;
    return { code: status.code, stdout: await stdoutText, stderr: p.stderr };
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    await readErr;
    await stdoutText.catch(() => "");
    throw new Error(`${(e as Error).message}\nCLI stderr:\n${p.stderr}`, { cause: e });
  } finally {
    await own?.close();
  }
}

export interface CliProcess {
  child: Deno.ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Both streams read to their end. */
  done: Promise<void>;
}

/** An operator command as a long-running child process (login, logs -f), output collected live. */
export function spawnCli(w: CliWorld, args: string[]): CliProcess {
  const env: Env = {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "/",
    XDG_CONFIG_HOME: w.configHome,
    NO_COLOR: "1",
  };
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir) env.DENO_DIR = denoDir;
  const child = new Deno.Command(Deno.execPath(), {
    args: denoRunArgs({ XDG_CONFIG_HOME: w.configHome }, args),
    env,
    clearEnv: true,
    cwd: REPO_DIR,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const p = { child, stdout: "", stderr: "", done: Promise.resolve() };
  const read = async (s: ReadableStream<Uint8Array>, k: "stdout" | "stderr") => {
    for await (const c of s.pipeThrough(new TextDecoderStream())) p[k] += c;
  };
  p.done = Promise.all([read(child.stdout, "stdout"), read(child.stderr, "stderr")]).then(() => {});
  return p;
}

export async function signInLocally(page: Page, username: string) {
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/** POST a form to an OAuth endpoint. */
export async function postForm(
  url: string,
  fields: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

export async function api(w: CliWorld, path: string, token: string): Promise<number> {
  const res = await fetch(`${w.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  await res.body?.cancel();
  return res.status;
}

export const CLIENT = "despacito-cli";

export interface Flow {
  cookie: string;
  redirectUri: string;
  verifier: string;
  challenge: string;
}

function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** Signs in with the local form over HTTP (no browser): the session cookie header. */
export async function sessionCookie(w: Pick<CliWorld, "url">, username: string): Promise<string> {
  const res = await fetch(`${w.url}/auth/local/login`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: w.url },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  await res.body?.cancel();
  assert.equal(res.status, 200);
  return res.headers.getSetCookie()[0].split(";")[0];
}

export async function newFlow(w: Pick<CliWorld, "url">, username: string): Promise<Flow> {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return {
    cookie: await sessionCookie(w, username),
    redirectUri: "http://127.0.0.1:49999/callback",
    verifier,
    challenge: b64url(new Uint8Array(digest)),
  };
}

export function authorizeParams(f: Flow, over: Record<string, string> = {}) {
  return new URLSearchParams({
    response_type: "code",
    client_id: CLIENT,
    redirect_uri: f.redirectUri,
    state: "s-123",
    code_challenge: f.challenge,
    code_challenge_method: "S256",
    ...over,
  });
}

/** The consent form's POST, as the browser sends it: the code from the redirect. */
export async function consent(w: Pick<CliWorld, "url">, f: Flow): Promise<string> {
  const params = authorizeParams(f);
  params.set("decision", "allow");
  const res = await fetch(`${w.url}/oauth/authorize`, {
    method: "POST",
    redirect: "manual",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      cookie: f.cookie,
      origin: w.url,
    },
    body: params,
  });
  await res.body?.cancel();
  assert.equal(res.status, 303);
  const back = new URL(res.headers.get("location")!);
  assert.equal(back.origin + back.pathname, f.redirectUri);
  assert.equal(back.searchParams.get("state"), "s-123");
  return back.searchParams.get("code")!;
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

/** A complete sign-in over HTTP; the token answer. */
export async function httpLogin(w: Pick<CliWorld, "url">, username: string): Promise<Tokens> {
  const f = await newFlow(w, username);
  const code = await consent(w, f);
  const r = await postForm(`${w.url}/oauth/token`, {
    grant_type: "authorization_code",
    code,
    redirect_uri: f.redirectUri,
    code_verifier: f.verifier,
    client_id: CLIENT,
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body as unknown as Tokens;
}

export async function refreshWith(w: CliWorld, token: string) {
  return await postForm(`${w.url}/oauth/token`, {
    grant_type: "refresh_token",
    refresh_token: token,
    client_id: CLIENT,
  });
}

/** Writes the CLI's credentials file as `despacito login` would. */
export async function storeForCli(w: CliWorld, t: Tokens, expiresAt?: Date) {
  await Deno.mkdir(`${w.configHome}/despacito`, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(
    w.credentialsFile,
    JSON.stringify({
      server: w.url,
      access_token: t.access_token,
      refresh_token: t.refresh_token,
      expires_at: (expiresAt ?? new Date(Date.now() + t.expires_in * 1000)).toISOString(),
      client_id: CLIENT,
      token_endpoint: `${w.url}/oauth/token`,
      revocation_endpoint: `${w.url}/oauth/revoke`,
    }),
    { mode: 0o600 },
  );
}
