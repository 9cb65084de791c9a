/**
 * Shared setup for the forge integration tests: a real PostgreSQL database
 * (migrated), the forge area served over real HTTP on a random loopback
 * port, a captured JSON log, a bearer token for the API, and an in-test
 * implementation of the deploy ports that records every call (a stand-in
 * for another domain, not a fake of an external system).
 */

import { createApp } from "../src/http/app.ts";
import { loadConfig } from "../src/config/config.ts";
import { openDatabase } from "../src/db/connect.ts";
import { loadMigrations, migrate } from "../src/db/migrate.ts";
import { createLogger } from "../src/log/log.ts";
import { createToken } from "../src/auth/tokens.ts";
import { createForgeArea } from "../src/forge/area.ts";
import type {
  DeclaredSource,
  DeploymentStatusEvent,
  EnqueueRequest,
  EnqueueResult,
  ForgePorts,
} from "../src/forge/ports.ts";
import type { Area } from "../src/http/area.ts";
import { createAuthArea } from "../src/auth/area.ts";
import type { Principal } from "../src/auth/principal.ts";
import { parseSource } from "../src/deploy/ports.ts";
import type { Sql } from "../src/db/connect.ts";
import { VERSION_INFO } from "../src/version.ts";
import { freshDatabase } from "./_harness/postgres.ts";

export interface RecordingPorts extends ForgePorts {
  enqueued: EnqueueRequest[];
  sources: Map<string, DeclaredSource>;
  /** What the next enqueue answers (default: queued with a fresh id). */
  nextResult?: (req: EnqueueRequest) => EnqueueResult;
  emit(e: DeploymentStatusEvent): void;
}

export function recordingPorts(): RecordingPorts {
  const subscribers = new Set<(e: DeploymentStatusEvent) => void>();
  const ports: RecordingPorts = {
    enqueued: [],
    sources: new Map(),
    enqueue: (req) => {
      ports.enqueued.push(req);
      return Promise.resolve(
        ports.nextResult?.(req) ?? { outcome: "queued", deploymentId: crypto.randomUUID() },
      );
    },
    subscribe: (fn) => {
      subscribers.add(fn);
      return () => subscribers.delete(fn);
    },
    declaredSource: (pkg) => Promise.resolve(ports.sources.get(pkg)),
    // The real parser: it is pure, and the forge's matching must agree with deploy's.
    parseSource,
    emit: (e) => subscribers.forEach((fn) => fn(e)),
  };
  return ports;
}

export interface ForgeApp {
  url: string;
  sql: Sql;
  ports: RecordingPorts;
  logs: string[];
  dataDir: string;
  dbUri: string;
  bearer: string;
  // deno-lint-ignore no-explicit-any
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  close(): Promise<void>;
}

export async function startForgeApp(
  options: {
    env?: Record<string, string>;
    ports?: RecordingPorts;
    /** Reuse another app's database and data dir (a restart); close() then leaves them. */
    reuse?: { dbUri: string; dataDir: string };
  } = {},
): Promise<ForgeApp> {
  const db = options.reuse
    ? { uri: options.reuse.dbUri, drop: () => Promise.resolve() }
    : await freshDatabase();
  const dataDir = options.reuse?.dataDir ??
    await Deno.makeTempDir({ prefix: "despacito-forge-" });
  const logs: string[] = [];
  const log = createLogger({ level: "debug", sink: (l) => logs.push(l) });
  let handler: (req: Request) => Response | Promise<Response> = () =>
    new Response(null, { status: 503 });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => handler(req),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  const config = loadConfig({
    DESPACITO_BASE_URL: url,
    DESPACITO_DATA_DIR: dataDir,
    DESPACITO_POSTGRES_CONNECTION_URI: db.uri,
    DESPACITO_FORGE_STATUS_BACKOFF: "20ms",
    DESPACITO_FORGE_TIMEOUT: "5s",
    ...options.env,
  });
  const database = await openDatabase({ postgresUri: db.uri, dataDir, log });
  const migrations = await loadMigrations();
  await migrate(database.sql, migrations, log);
  const ports = options.ports ?? recordingPorts();
  const stopping = new AbortController();
  const ctx = { config, log, sql: database.sql, stopping: stopping.signal };
  const area = (await createForgeArea({ ...ctx, ports, retryEveryMs: 50 })) as Area<Principal>;
  await area.start?.();
  const app = createApp({
    config,
    log,
    sql: database.sql,
    migrations,
    version: VERSION_INFO,
    areas: [area],
    guard: createAuthArea(ctx).guard,
  });
  handler = (req) => app.fetch(req);
  const bearer = (await createToken(database.sql, { description: "forge tests" })).token;

  return {
    url,
    sql: database.sql,
    ports,
    logs,
    dataDir,
    dbUri: db.uri,
    bearer,
    async api(method, path, body) {
      const res = await fetch(url + path, {
        method,
        headers: {
          Authorization: `Bearer ${bearer}`,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    },
    async close() {
      stopping.abort();
      await area.stop?.(AbortSignal.timeout(5000));
      await server.shutdown();
      await database.close();
      if (!options.reuse) {
        await db.drop();
        await Deno.remove(dataDir, { recursive: true });
      }
    },
  };
}

/** Connects acme/webapp to package webapp (the tests' usual pair); asserts 201, returns the answer. */
export async function connectWebapp(
  app: ForgeApp,
  forge: { url: string },
  token: string,
  trigger: "release" | "tag",
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  const res = await app.api("POST", "/api/repositories", {
    forge_url: forge.url,
    owner: "acme",
    repo: "webapp",
    package: "webapp",
    token,
    trigger,
  });
  if (res.status !== 201) throw new Error(`connect: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json;
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const SHA_A = "1111111111111111111111111111111111111111";
export const SHA_B = "2222222222222222222222222222222222222222";
export const SHA_TAG_OBJECT = "9999999999999999999999999999999999999999";
