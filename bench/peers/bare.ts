/**
 * The bare peer: Deno + Hono doing only what the request needs, no
 * middleware, no logging, so despacito's overhead shows against it. One
 * process serves every variant on its own path (bench/compare.ts picks):
 *
 *   GET  /        hello
 *   POST /hmac    HMAC-SHA256 of the body checked against X-Hub-Signature-256, JSON parsed
 *                 and validated, 202 with a JSON answer
 *   POST /insert  the same + one INSERT (postgres.js pool of 10, despacito's default);
 *                 ?unique=1 inserts into a table unique on (package, version): 409 on a repeat
 *   GET  /select  one SELECT of 50 rows, as JSON
 *   POST /admit   the same HMAC and JSON checks, then despacito's own admission statement
 *                 (despacito_enqueue(): token check, hold and repeat checks, the row, its log
 *                 and status entries, the audit row, the supersession) with a new version each
 *                 request (the body's version and a counter): what PostgreSQL alone costs an
 *                 admission, without despacito's JavaScript; ?repeat=1 admits the body's version
 *                 as it is, so every request after the first is a repeat (409). Only with
 *                 BENCH_ADMIT=1, on a database with despacito's schema (bench/compare.ts
 *                 migrates it); without it the peer starts as it always did.
 *
 * Env: BENCH_SECRET (HMAC key), BENCH_PG_URI (optional; /insert and /select need it),
 * BENCH_GUARDED=<dir>: the same app behind despacito's connection guard (src/http/listen.ts, with
 * the default limits; its inner socket under <dir>), to tell the guard's cost from the rest of
 * despacito's. BENCH_ADMIT=1: POST /admit (above).
 * Prints "listening <port>" once it accepts connections.
 */

import { Hono } from "hono";
import postgres from "postgres";

const enc = new TextEncoder();
const secret = Deno.env.get("BENCH_SECRET") ?? "bench";
const key = await crypto.subtle.importKey(
  "raw",
  enc.encode(secret),
  { name: "HMAC", hash: "SHA-256" },
  false,
  ["verify"],
);
const pgUri = Deno.env.get("BENCH_PG_URI");
const sql = pgUri ? postgres(pgUri, { max: 10, onnotice: () => {} }) : undefined;
const ADMIT_TOKEN = "00000000-0000-4000-8000-000000000001";
let admitReady = false;
let admitted = 0;
if (sql) {
  await sql`create table if not exists bench_events (
    id uuid primary key, package text not null, version text not null,
    nix_store_path text, created_at timestamptz not null default now())`;
  await sql`create index if not exists bench_events_created on bench_events (created_at)`;
  if (Deno.env.get("BENCH_ADMIT") === "1") {
    admitReady = (await sql`select to_regproc('despacito_enqueue') is not null as ok`)[0].ok;
    if (!admitReady) {
      throw new Error("BENCH_ADMIT=1: BENCH_PG_URI's database has no despacito schema");
    }
    await sql`insert into auth_token (id, token_sha256, description)
      values (${ADMIT_TOKEN}, repeat('0', 64), 'bench peer') on conflict do nothing`;
  }
  await sql`create table if not exists bench_unique (
    id uuid primary key, package text not null, version text not null,
    created_at timestamptz not null default now(), unique (package, version))`;
}

function hexToBytes(hex: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[0-9a-f]{64}$/.test(hex)) return undefined;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

interface Payload {
  package: string;
  version: string;
  nix_store_path: string;
}

/** The signed, valid payload, or an error response. */
async function verified(
  req: Request,
): Promise<Payload | Response> {
  const body = new Uint8Array(await req.arrayBuffer());
  const sig = hexToBytes((req.headers.get("x-hub-signature-256") ?? "").replace(/^sha256=/, ""));
  if (!sig || !(await crypto.subtle.verify("HMAC", key, sig, body))) {
    return Response.json({ error: { code: "unauthenticated" } }, { status: 401 });
  }
  let v: Partial<Payload>;
  try {
    v = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return Response.json({ error: { code: "invalid_request" } }, { status: 400 });
  }
  if (
    typeof v?.package !== "string" || typeof v.version !== "string" ||
    typeof v.nix_store_path !== "string" || !/^\S{1,128}$/.test(v.version)
  ) {
    return Response.json({ error: { code: "invalid_request" } }, { status: 400 });
  }
  return v as Payload;
}

const app = new Hono();
app.get("/", (c) => c.text("hello"));
app.post("/hmac", async (c) => {
  const p = await verified(c.req.raw);
  if (p instanceof Response) return p;
  return c.json({ status: "queued", package: p.package, version: p.version }, 202);
});
app.post("/insert", async (c) => {
  const p = await verified(c.req.raw);
  if (p instanceof Response) return p;
  if (!sql) return c.json({ error: "no database" }, 503);
  const id = crypto.randomUUID();
  if (c.req.query("unique")) {
    const rows = await sql`
      insert into bench_unique (id, package, version) values (${id}, ${p.package}, ${p.version})
      on conflict (package, version) do nothing returning id`;
    if (rows.length === 0) return c.json({ status: "in_progress", package: p.package }, 409);
  } else {
    await sql`
      insert into bench_events (id, package, version, nix_store_path)
      values (${id}, ${p.package}, ${p.version}, ${p.nix_store_path})`;
  }
  return c.json({ status: "queued", package: p.package, version: p.version, id }, 202);
});
app.post("/admit", async (c) => {
  const p = await verified(c.req.raw);
  if (p instanceof Response) return p;
  if (!sql || !admitReady) return c.json({ error: "no despacito schema" }, 503);
  const id = crypto.randomUUID();
  const version = c.req.query("repeat") ? p.version : `${p.version}-${++admitted}`;
  const audit = JSON.stringify({
    at: new Date(),
    actorKind: "token",
    actorId: ADMIT_TOKEN,
    actorLabel: "bench peer",
    action: "deployment.create",
    target: id,
    requestId: id,
    clientAddress: "127.0.0.1",
    details: { package: p.package, version },
    rest: JSON.stringify([p.package, version]),
  });
  const [row] = await sql.unsafe(
    `select outcome from despacito_enqueue(${
      Array.from({ length: 17 }, (_, i) => `$${i + 1}`).join(", ")
    })`,
    [
      id,
      p.package,
      version,
      p.nix_store_path,
      null,
      "token",
      ADMIT_TOKEN,
      "bench peer",
      "deploy",
      null,
      null,
      100, // despacito's default DESPACITO_QUEUE_LIMIT
      `queued ${p.package} ${version}`,
      `superseded by ${version} (${id})`,
      `superseded by ${p.package} ${version} before it started`,
      ADMIT_TOKEN,
      audit,
    ],
    { prepare: true },
  );
  if (row.outcome !== "queued") return c.json({ status: row.outcome }, 409);
  return c.json({ status: "queued", package: p.package, version, id }, 202);
});
app.get("/select", async (c) => {
  if (!sql) return c.json({ error: "no database" }, 503);
  const rows = await sql`
    select id, package, version, nix_store_path, created_at from bench_events
    order by created_at desc limit 50`;
  return c.json({ items: rows });
});

const port = Number(Deno.env.get("BENCH_PORT") ?? 0);
const guardDir = Deno.env.get("BENCH_GUARDED");
if (guardDir) {
  const { listen } = await import("../../src/http/listen.ts");
  const { createLogger } = await import("../../src/log/log.ts");
  const l = await listen({
    listen: `127.0.0.1:${port}`,
    dataDir: guardDir,
    limits: { headerTimeoutMs: 10_000, idleTimeoutMs: 300_000, maxConnections: 1024 },
    log: createLogger({ level: "warn" }),
    handler: app.fetch,
  });
  // deno-lint-ignore no-console
  console.log(`listening ${l.port}`);
} else {
  Deno.serve({
    hostname: "127.0.0.1",
    port,
    // deno-lint-ignore no-console
    onListen: ({ port }) => console.log(`listening ${port}`),
  }, app.fetch);
}
