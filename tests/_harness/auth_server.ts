/**
 * Shared by the auth tests: despacito started as it ships (a subprocess under
 * the production permission flags, tests/_harness/server.ts) on a fresh real
 * Postgres database and a chosen loopback port, with its log lines
 * captured, plus small request helpers.
 */

import type { Sql } from "../../src/db/connect.ts";
import { freshDatabase, storeDatabase } from "./postgres.ts";
import { type ServerProcess, spawnServer } from "./server.ts";
import { freePort } from "./oidc_provider.ts";

export interface AuthServer {
  base: string;
  port: number;
  server: ServerProcess;
  sql: Sql;
  logs: string[];
  /** Parsed log lines whose msg matches. */
  logged(msg: string): Record<string, unknown>[];
  close(): Promise<void>;
}

export interface AuthServerOptions {
  env?: Record<string, string>;
  port?: number;
}

/** Picks the port first so OIDC clients can be registered with the callback URL. */
export function reservePort(): { port: number; base: string; callback: string } {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  return { port, base, callback: `${base}/auth/callback` };
}

export async function startAuthServer(options: AuthServerOptions = {}): Promise<AuthServer> {
  const db = await freshDatabase();
  const dataDir = await Deno.makeTempDir({ prefix: "despacito-auth-" });
  const port = options.port ?? freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = await spawnServer({
    env: {
      DESPACITO_POSTGRES_CONNECTION_URI: db.uri,
      DESPACITO_POSTGRES_POOL_SIZE: "4",
      DESPACITO_LISTEN: `127.0.0.1:${port}`,
      DESPACITO_DATA_DIR: dataDir,
      DESPACITO_BASE_URL: base,
      DESPACITO_SESSION_COOKIE_SECURE: "false",
      DESPACITO_SHUTDOWN_TIMEOUT: "2s",
      DESPACITO_LOG_LEVEL: "debug",
      ...options.env,
    },
  });
  const store = await storeDatabase(db.uri, 2);
  const sql = store.sql;
  return {
    base,
    port,
    server,
    sql,
    get logs() {
      return server.stdout;
    },
    logged: (msg) => server.logs().filter((r) => r.msg === msg),
    close: async () => {
      await store.close();
      await server.stop();
      await db.drop();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/** Headers a same-origin browser fetch from the UI sends with a JSON write. */
export function sameOrigin(
  base: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return { "content-type": "application/json", origin: base, ...extra };
}

export async function json(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`not JSON (status ${res.status}): ${text.slice(0, 200)}`);
  }
}

/** The named cookie's value from a response's Set-Cookie headers. */
export function setCookie(
  res: Response,
  name: string,
): { value: string; attrs: string } | undefined {
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(";");
    const i = pair.indexOf("=");
    if (pair.slice(0, i).trim() === name) {
      return { value: pair.slice(i + 1).trim(), attrs: attrs.join(";") };
    }
  }
  return undefined;
}
