/**
 * Shared by the operator CLI tests: despacito as it ships (a child process
 * under its production flags, real PostgreSQL) with a local account, the
 * CLI as it ships (runCli: the operator permission profile) with its own
 * XDG_CONFIG_HOME, `despacito login` driven through real Chromium, and the
 * OAuth endpoints spoken to directly for the protocol checks.
 */

import assert from "node:assert/strict";
import postgres from "postgres";
import type { Browser } from "playwright-core";
import { hashPassword } from "../src/auth/passwords.ts";
import { createLocalUser } from "../src/auth/users.ts";
import type { Sql } from "../src/db/connect.ts";
import { launchChromium } from "./_harness/chromium.ts";
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
  restart(): Promise<void>;
}

export interface WorldOptions {
  env?: Env;
  /** Server env from another harness (deploy flakes, fake colmena); its database is used. */
  base?: Env;
}

export async function withCliWorld(options: WorldOptions, fn: (w: CliWorld) => Promise<void>) {
  await bundleUi();
  const db = options.base ? undefined : await freshDatabase();
  const dbUri = options.base?.DESPACITO_POSTGRES_CONNECTION_URI ?? db!.uri;
  const root = await Deno.makeTempDir({ prefix: "despacito-cli-" });
  const port = freePort();
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
      restart: async () => {
        await w.server.stop();
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
): Promise<CliResult> {
  const own = browser ? undefined : await launchChromium();
  const b = browser ?? own!;
  const child = new Deno.Command(Deno.execPath(), {
    args: denoRunArgs({ XDG_CONFIG_HOME: w.configHome }, ["login", w.url]),
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "/",
      XDG_CONFIG_HOME: w.configHome,
      NO_COLOR: "1",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
    },
    clearEnv: true,
    cwd: REPO_DIR,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const readErr = (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) stderr += c;
  })();
  const stdoutText = new Response(child.stdout).text();
  try {
    const authorize = await waitFor(
      "the CLI to print the authorize URL",
      () => /^\s+(http\S+\/oauth\/authorize\?\S+)$/m.exec(stderr)?.[1],
    );
    const context = await b.newContext({ baseURL: w.url });
    const page = await context.newPage();
    await page.goto(authorize);
    await page.waitForURL((u) => u.pathname === "/signin");
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("heading", { name: /^Sign in despacito command line\?$/ }).waitFor();
    assert.ok(
      (await page.content()).includes(`127.0.0.1:`),
      "the consent page names the redirect host",
    );
    await page.getByRole("button", { name: "Allow" }).click();
    await page.getByRole("heading", { name: "Signed in" }).waitFor();
    await context.close();
    const status = await child.status;
    await readErr;
    return { code: status.code, stdout: await stdoutText, stderr };
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    await readErr;
    await stdoutText.catch(() => "");
    throw new Error(`${(e as Error).message}\nCLI stderr:\n${stderr}`, { cause: e });
  } finally {
    await own?.close();
  }
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
