/**
 * One deploy test environment: a fresh Postgres database, fixture flakes
 * (apps `webapp` and `api` with tagged releases, a deployment flake pinning
 * both), a fake colmena, a bearer token, and despacito itself, started as it
 * ships: a subprocess under the production permission flags (server.ts),
 * configured only by its environment and files. `close()` stops it all and
 * asserts that no two colmena runs overlapped.
 */

import postgres from "postgres";
import { createToken } from "../../src/auth/tokens.ts";
import { freshDatabase } from "./postgres.ts";
import { type ServerProcess, spawnServer } from "./server.ts";
import { type AppRepo, createAppRepo, createDeployFlake, type DeployFlake } from "./flakes.ts";
import { createFakeColmena, type FakeColmena } from "./fake_colmena.ts";
import { createFlakeRemote, despacitoClone, type FlakeRemoteFixture } from "./flake_remote.ts";

export interface DeployEnv {
  root: string;
  webapp: AppRepo;
  api: AppRepo;
  flake: DeployFlake;
  /** With `remote: true`: the bare repo despacito clones, fetches and pushes (flake_remote.ts). */
  remote?: FlakeRemoteFixture;
  colmena: FakeColmena;
  dbUri: string;
  /** Base env (DESPACITO_*) the server was started with. */
  env: Record<string, string>;
  server?: ServerProcess;
  url: string;
  token: string;
  /** Every JSON log line of every server this environment started, in order. */
  logs: string[];
  sql: postgres.Sql;
  fetch(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  webhook(body: unknown, query?: string, headers?: Record<string, string>): Promise<Response>;
  /** Polls GET /api/deployments/:id until `pred` holds. */
  waitDeployment(
    id: string,
    pred: (d: DeploymentJson) => boolean,
    timeoutMs?: number,
  ): Promise<DeploymentJson>;
  /** Polls an async condition until it holds or the deadline passes. */
  waitFor(cond: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
  startServer(extraEnv?: Record<string, string>): Promise<void>;
  /** SIGTERM (graceful drain); resolves to the exit code. */
  stopServer(): Promise<number | undefined>;
  /** The crash: SIGKILL, nothing drained. */
  killServer(): Promise<void>;
  close(): Promise<void>;
}

// deno-lint-ignore no-explicit-any
export type DeploymentJson = Record<string, any>;

/** Debugging aid: DESPACITO_TEST_SHOW_LOGS=1 prints warnings and errors at close. */
const printErr = (l: string) => Deno.stderr.writeSync(new TextEncoder().encode(l + "\n"));

export const STORE_PATH = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-webapp-1.1.0";

export async function createDeployEnv(
  options: {
    extraEnv?: Record<string, string>;
    start?: boolean;
    /** Inputs declared with a ref in flake.nix, e.g. { webapp: "refs/tags/v1.0.0" }. */
    pins?: Record<string, string>;
    /** Admin URI of a PostgreSQL server the test owns (it may stop it); default the shared one. */
    postgresAdminUri?: string;
    /** The fixture flake becomes a bare remote (+ the team's clone); despacito clones it at start. */
    remote?: boolean;
  } = {},
): Promise<DeployEnv> {
  const root = await Deno.makeTempDir({ prefix: "despacito-deploy-" });
  const webapp = await createAppRepo(root, "webapp", ["1.0.0"]);
  const api = await createAppRepo(root, "api", ["2.0.0"]);
  // Locked while webapp is at 1.0.0; later releases are what tests deploy.
  const fixture = await createDeployFlake(root, [webapp, api], options.pins);
  const remote = options.remote ? await createFlakeRemote(root, fixture) : undefined;
  const flake = remote ? despacitoClone(root) : fixture;
  await webapp.release("1.1.0");
  await webapp.release("1.2.0");
  const colmena = await createFakeColmena(root);
  await colmena.seed(fixture.dir);
  const db = await freshDatabase(options.postgresAdminUri);
  const sql = postgres(db.uri, { max: 2, onnotice: () => {} });
  // Lines of servers already stopped; the running one's are read live.
  const past: string[] = [];
  const env: DeployEnv = {
    root,
    webapp,
    api,
    flake,
    remote,
    colmena,
    dbUri: db.uri,
    env: {
      DESPACITO_LISTEN: "127.0.0.1:0",
      DESPACITO_DATA_DIR: `${root}/data`,
      DESPACITO_FLAKE_DIR: flake.dir,
      DESPACITO_COLMENA_BIN: colmena.bin,
      DESPACITO_POSTGRES_CONNECTION_URI: db.uri,
      DESPACITO_FLAKE_REF_SCHEMES: "github,git+https,git+file",
      DESPACITO_SHUTDOWN_TIMEOUT: "5s",
      DESPACITO_LOG_LEVEL: "debug",
      ...(remote ? { DESPACITO_FLAKE_REMOTE: remote.url } : {}),
    },
    url: "",
    token: "",
    get logs() {
      return [...past, ...(env.server?.stdout ?? [])];
    },
    sql,
    async fetch(path, init = {}) {
      const headers = new Headers(init.headers);
      const token = init.token === undefined ? env.token : init.token;
      if (token) headers.set("Authorization", `Bearer ${token}`);
      return await fetch(`${env.url}${path}`, { ...init, headers });
    },
    async webhook(body, query = "", headers = {}) {
      return await env.fetch(`/webhook${query}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
    },
    async waitDeployment(id, pred, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await env.fetch(`/api/deployments/${id}`);
        const d = await r.json();
        if (r.ok && pred(d)) return d;
        if (Date.now() > deadline) {
          throw new Error(`deployment ${id} never matched; last: ${JSON.stringify(d)}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async waitFor(cond, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await cond())) {
        if (Date.now() > deadline) throw new Error("condition not met before the deadline");
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async startServer(extraEnv = {}) {
      const server = await spawnServer({
        env: { ...env.env, ...options.extraEnv, ...extraEnv },
      });
      env.server = server;
      env.url = server.url;
      if (!env.token) {
        const t = await createToken(sql, { description: "ci-runner-1" });
        env.token = t.token;
      }
    },
    async stopServer() {
      const server = env.server;
      if (!server) return undefined;
      env.server = undefined;
      const code = await server.stop();
      past.push(...server.stdout);
      return code;
    },
    async killServer() {
      const server = env.server;
      if (!server) return;
      env.server = undefined;
      await server.stop("SIGKILL");
      past.push(...server.stdout);
    },
    async close() {
      try {
        await env.stopServer();
        if (Deno.env.get("DESPACITO_TEST_SHOW_LOGS")) {
          for (const l of past) if (/"level":"(error|warn)"/.test(l)) printErr(l);
        }
        await colmena.assertNoOverlap();
      } finally {
        await sql.end();
        await db.drop().catch(() => {});
        await Deno.remove(root, { recursive: true }).catch(() => {});
      }
    },
  };
  if (options.start !== false) await env.startServer();
  return env;
}

/** Runs `fn` in a fresh deploy environment and always closes it (overlap and protocol checked). */
export async function withDeployEnv(
  options: Parameters<typeof createDeployEnv>[0],
  fn: (env: DeployEnv) => Promise<void>,
): Promise<void> {
  const env = await createDeployEnv(options);
  try {
    await fn(env);
  } finally {
    await env.close();
  }
}

/** The rev of `pkg` each simulated node runs (the fleet's truth, not despacito's record). */
export async function fleetRevs(
  env: DeployEnv,
  pkg = "webapp",
  nodes = ["alpha", "beta"],
): Promise<Record<string, string | null | undefined>> {
  const out: Record<string, string | null | undefined> = {};
  for (const n of nodes) out[n] = (await env.colmena.node(n))?.revs[pkg];
  return out;
}

/** A canary node and the rest of the web fleet, as the fake colmena's nodes with their tags. */
export const CANARY_FLEET = { alpha: ["canary", "web"], beta: ["web"] };

/** webapp in two stages: the canary waits for a manual promotion, then the whole web fleet. */
export const CANARY_STAGES = `packages:
  webapp:
    stages:
      - name: canary
        on: "@canary"
        promote: manual
      - name: fleet
        on: "@web"
`;

/** Writes a DESPACITO_CONFIG file into the environment and returns its path. */
export async function settingsFile(env: DeployEnv, yaml: string): Promise<string> {
  const path = `${env.root}/despacito.yaml`;
  await Deno.writeTextFile(path, yaml);
  return path;
}
