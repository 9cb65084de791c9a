/**
 * What the ops tests share: despacito as a real process (production
 * permission flags) on a fresh PostgreSQL database, a JSON client, a
 * bootstrap token, and a direct `sql` handle for the tests that tamper
 * with the audit table the way an attacker with database access would.
 */

import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import postgres from "postgres";
import { freshDatabase } from "./_harness/postgres.ts";
import {
  denoRunArgs,
  type Env,
  REPO_DIR,
  runCli,
  type ServerProcess,
  spawnServer,
} from "./_harness/server.ts";

/** A CLI command under the production flags, with `stdin` piped in (passwords). */
export async function cliWithStdin(env: Env, args: string[], stdin: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: denoRunArgs(env, args),
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "",
      USER: "opsadmin",
      ...env,
    },
    clearEnv: true,
    cwd: REPO_DIR,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  const r = await child.output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // deno-lint-ignore no-explicit-any
  body: any;
}

export interface OpsServer {
  server: ServerProcess;
  env: Env;
  sql: postgres.Sql;
  call(
    method: string,
    path: string,
    o?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Reply>;
  /** A full-access token made through the bootstrap route. */
  token(): Promise<string>;
  cli(args: string[]): ReturnType<typeof runCli>;
  close(): Promise<void>;
}

export async function startOps(extra: Env = {}): Promise<OpsServer> {
  const dataDir = await Deno.makeTempDir({ prefix: "despacito-ops-" });
  const db = await freshDatabase();
  const env: Env = {
    DESPACITO_DATA_DIR: dataDir,
    DESPACITO_POSTGRES_CONNECTION_URI: db.uri,
    DESPACITO_LISTEN: "127.0.0.1:0",
    DESPACITO_SESSION_COOKIE_SECURE: "false",
    DESPACITO_AUTH_RATE_LIMIT: "1000",
    ...extra,
  };
  const server = await spawnServer({ env });
  const sql = postgres(db.uri, { max: 2, onnotice: () => {} });
  let token: string | undefined;
  const call: OpsServer["call"] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let body: string | undefined;
    if (o.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(o.body);
    }
    const res = await fetch(server.url + path, { method, headers, body, redirect: "manual" });
    const text = await res.text();
    let parsed: unknown = undefined;
    if (res.headers.get("content-type")?.includes("json") && text) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, text, body: parsed };
  };
  return {
    server,
    env,
    sql,
    call,
    async token() {
      if (token) return token;
      const r = await call("POST", "/api/tokens", { body: { description: "ops admin" } });
      if (r.status !== 201) throw new Error(`bootstrap token: ${r.status} ${r.text}`);
      token = r.body.token as string;
      return token;
    },
    cli: (args) => runCli(args, env),
    async close() {
      await server.stop();
      await sql.end();
      await db.drop();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/**
 * Checks a real answer against what the OpenAPI document (GET /api/openapi.json)
 * promises for that operation and status (Ajv, JSON Schema 2020-12).
 */
export function responseChecker(doc: unknown) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(doc as object, "api");
  return (method: string, path: string, status: number, body: unknown) => {
    const pointer = ["paths", path, method, "responses", String(status), "content"]
      .concat(["application/json", "schema"])
      .map((s) => s.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");
    const validate = ajv.getSchema(`api#/${pointer}`);
    assert.ok(validate, `no schema for ${method} ${path} ${status}`);
    assert.ok(validate(body), `${method} ${path} ${status}: ${JSON.stringify(validate.errors)}`);
  };
}
