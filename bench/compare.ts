/**
 * `deno task bench:compare`: despacito side by side with its peers on this
 * machine, interleaved (despacito, peer, despacito, peer, … for every round)
 * so a noisy neighbour hurts both sides alike, and one table at the end:
 * metric | despacito | peer | ratio per round | median ratio | target | pass.
 *
 * What it starts (and stops again): a private PostgreSQL cluster; despacito
 * AS IT SHIPS (`deno run` under src/build/permissions.ts's flags, via
 * tests/_harness/server.ts) on PostgreSQL and on embedded PGlite, with a
 * real deployment flake whose colmena blocks (so the worker sits in one long
 * deployment while admissions are measured, as in production during a
 * rollout); adnanh/webhook with an HMAC rule running /bin/true; the bare
 * Deno+Hono peer of bench/peers/bare.ts. Load comes from wrk. Missing
 * Debian packages (wrk, webhook) are installed with apt-get. Then the
 * deployment rows (bench/deploy_metrics.ts): P2 against a shell script, P7's
 * SSE subscribers, the 20,000-line deployment.
 *
 *   deno task bench:compare [--rounds N] [--duration S] [--smoke] [--only http|deployments]
 *
 * --smoke: one round of one second with 5 connections (and smaller
 * deployments), no pass/fail on speed (CI runs it so the suite cannot rot; tests/bench_compare_test.ts).
 */

import { parseArgs } from "node:util";
import postgres from "postgres";
import { createToken } from "../src/auth/tokens.ts";
import { createAppRepo, createDeployFlake } from "../tests/_harness/flakes.ts";
import { createFakeColmena } from "../tests/_harness/fake_colmena.ts";
import { startCluster } from "../tests/_harness/postgres.ts";
import { denoRunArgs, REPO_DIR, runCli } from "../tests/_harness/server.ts";
import { cpuMs, deploymentMetrics } from "./deploy_metrics.ts";
import { baseEnv, type Proc, spawnUntil as spawnProc } from "./procs.ts";
import { median, parseWrk, type WrkResult } from "./wrk.ts";

const { values: opts } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "5" },
    connections: { type: "string" },
    smoke: { type: "boolean", default: false },
    only: { type: "string" },
  },
  strict: true,
});
const smoke = opts.smoke;
const ROUNDS = smoke ? 1 : Number(opts.rounds);
const DURATION = smoke ? 1 : Number(opts.duration);
// The smoke run's one second must see answers even on a loaded machine: fewer connections.
const CONNECTIONS = Number(opts.connections ?? (smoke ? "5" : "50"));
/** `--only http` or `--only deployments`: one half of the table. */
const ONLY = opts.only;
if (ONLY !== undefined && ONLY !== "http" && ONLY !== "deployments") {
  throw new Error("--only takes http or deployments");
}
if (!(ROUNDS >= 1 && DURATION >= 1 && CONNECTIONS >= 1)) {
  throw new Error("--rounds, --duration and --connections must be positive numbers");
}

const out = (s: string) => Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));
const began = performance.now();
const note = (s: string) =>
  Deno.stderr.writeSync(
    new TextEncoder().encode(`# ${((performance.now() - began) / 1000).toFixed(1)}s ${s}\n`),
  );
const SECRET = "bench-hmac-secret";
/** Servers that had to be killed: printed under the table. */
const stuck: string[] = [];
const STORE_PATH = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-webapp-1.1.0";

// ---------------------------------------------------------------- tools

async function has(cmd: string): Promise<boolean> {
  const r = await new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" })
    .output();
  return r.success;
}

async function ensureTools() {
  const missing = [];
  for (const p of ["wrk", "webhook"]) if (!(await has(p))) missing.push(p);
  if (missing.length === 0) return;
  note(`installing Debian packages: ${missing.join(" ")}`);
  const sudo = Deno.uid() === 0 ? [] : ["sudo"];
  for (
    const args of [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", ...missing]]
  ) {
    const argv = [...sudo, ...args];
    const r = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdin: "null",
    }).output();
    if (!r.success) throw new Error(`${argv.join(" ")} failed`);
  }
}

// ---------------------------------------------------------------- processes

/** A server started by bench/procs.ts; one that had to be killed is listed under the table. */
function spawnUntil(
  name: string,
  argv: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<Proc> {
  return spawnProc(name, argv, env, ready, REPO_DIR, (n, message) => {
    note(message);
    stuck.push(n);
  });
}

/** despacito as it ships: `deno run <production permission flags> main.ts serve`. */
/** BENCH_CPU_PROF=<dir>: despacito's processes write V8 CPU profiles there (`deno run --cpu-prof`). */
function profiled(args: string[]): string[] {
  const dir = Deno.env.get("BENCH_CPU_PROF");
  return dir ? [args[0], "--cpu-prof", `--cpu-prof-dir=${dir}`, ...args.slice(1)] : args;
}

function startDespacito(name: string, env: Record<string, string>): Promise<Proc> {
  return spawnUntil(
    name,
    [Deno.execPath(), ...profiled(denoRunArgs(env, ["serve"]))],
    { ...baseEnv(), ...env },
    /"msg":"despacito started"[^\n]*"address":"([^"]+)"/,
  );
}

/** `guardDir`: the same peer behind despacito's connection guard, its inner socket under that dir. */
function startBare(pgUri?: string, guardDir?: string): Promise<Proc> {
  const env: Record<string, string> = { ...baseEnv(), BENCH_SECRET: SECRET };
  if (pgUri) {
    env.BENCH_PG_URI = pgUri;
    env.BENCH_ADMIT = "1"; // its database has despacito's schema (httpMetrics migrates it)
  }
  if (guardDir) env.BENCH_GUARDED = guardDir;
  return spawnUntil(
    guardDir ? "bare-guarded" : "bare",
    [
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-sys",
      ...(guardDir ? [`--allow-write=${guardDir}`] : []),
      `${REPO_DIR}/bench/peers/bare.ts`,
    ],
    env,
    /listening (\d+)/,
  );
}

async function startWebhook(dir: string): Promise<Proc> {
  const hooks = [{
    id: "deploy",
    "execute-command": "/bin/true",
    "response-message": "queued",
    "trigger-rule": {
      match: {
        type: "payload-hmac-sha256",
        secret: SECRET,
        parameter: { source: "header", name: "X-Hub-Signature-256" },
      },
    },
  }];
  await Deno.writeTextFile(`${dir}/hooks.json`, JSON.stringify(hooks));
  const port = freePort();
  // webhook announces itself on stderr, in a format that changed between releases: the port is
  // the readiness signal.
  return await pollPort(
    "webhook",
    ["webhook", "-hooks", `${dir}/hooks.json`, "-ip", "127.0.0.1", "-port", String(port)],
    port,
  );
}

/** For a program that says nothing on stdout: ready once the port accepts a connection. */
async function pollPort(name: string, argv: string[], port: number): Promise<Proc> {
  const t0 = performance.now();
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return {
    name,
    pid: child.pid,
    url: `http://127.0.0.1:${port}`,
    startMs: performance.now() - t0,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
    },
  };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function rssMb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = Number(status.match(/VmRSS:\s+(\d+) kB/)?.[1]);
  return kb / 1024;
}

async function settle(ms: number) {
  await new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------- load

async function hmacHex(body: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const sig = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body));
  return [...new Uint8Array(sig)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const lua = (s: string) => JSON.stringify(s); // a JSON string literal is a valid Lua string here

/** One fixed request, every time. */
function fixedScript(method: string, headers: Record<string, string>, body?: string): string {
  const h = Object.entries(headers).map(([k, v]) => `wrk.headers[${lua(k)}] = ${lua(v)}`);
  return [`wrk.method = ${lua(method)}`, ...h, body ? `wrk.body = ${lua(body)}` : ""].join("\n");
}

/** A new version in every request (per thread and run), so every admission queues. */
function distinctScript(token: string, pkg: string, run: string): string {
  return `
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
local n = 0
function request()
  n = n + 1
  local body = '{"package":"${pkg}","version":"${run}-' .. tid .. '-' .. n .. '","nix_store_path":"${STORE_PATH}"}'
  return wrk.format("POST", "/webhook?wait=false",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer ${token}" }, body)
end`;
}

let scriptDir = "";
let scriptN = 0;

async function wrk(url: string, script: string, connections = CONNECTIONS): Promise<WrkResult> {
  const file = `${scriptDir}/s${scriptN++}.lua`;
  await Deno.writeTextFile(file, script);
  const threads = Math.min(2, connections);
  const r = await new Deno.Command("wrk", {
    args: [`-t${threads}`, `-c${connections}`, `-d${DURATION}s`, "--latency", "-s", file, url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(r.stdout);
  if (!r.success) throw new Error(`wrk ${url} failed: ${new TextDecoder().decode(r.stderr)}`);
  if (Deno.env.get("BENCH_VERBOSE")) {
    note(`wrk ${url}\n${text}${new TextDecoder().decode(r.stderr)}`);
  }
  return parseWrk(text);
}

/** CPU from spawn to ready of each fresh despacito (PostgreSQL) and bare peer, per round. */
const startCpu = { ours: [] as number[], peer: [] as number[] };
/** CPU (µs, all the process's threads) per request of each side, per metric: the rows' notes. */
const cpuPerRequest = new Map<string, { ours: number[]; peer: number[] }>();

/** CPU (ms) of the bench cluster's PostgreSQL processes (backends and background ones). */
let pgCpuMs: (() => Promise<number>) | undefined;
const pgCpuPerRequest = new Map<string, { ours: number[]; peer: number[] }>();

/**
 * wrk against `url` while counting the CPU time of the server `pid` and of PostgreSQL, per
 * answered request.
 */
async function wrkCpu(
  pid: number,
  url: string,
  script: string,
): Promise<[WrkResult, number, number]> {
  const before = cpuMs(pid);
  const pgBefore = (await pgCpuMs?.()) ?? NaN;
  const r = await wrk(url, script);
  const per = (ms: number) => (r.requests > 0 ? (ms * 1000) / r.requests : NaN);
  return [r, per(cpuMs(pid) - before), per(((await pgCpuMs?.()) ?? NaN) - pgBefore)];
}

function cpuOn(metric: string, ours: number, peer: number, pg?: [number, number]) {
  const c = cpuPerRequest.get(metric) ?? { ours: [], peer: [] };
  c.ours.push(ours);
  c.peer.push(peer);
  cpuPerRequest.set(metric, c);
  if (!pg) return;
  const p = pgCpuPerRequest.get(metric) ?? { ours: [], peer: [] };
  p.ours.push(pg[0]);
  p.peer.push(pg[1]);
  pgCpuPerRequest.set(metric, p);
}

// ---------------------------------------------------------------- the table

interface Row {
  metric: string;
  unit: string;
  /** despacito's and the peer's value per round. */
  ours: number[];
  peer: number[];
  peerName: string;
  /** "min" ratio (ours/peer ≥ target) or "max" (≤ target); absolute: peer is a fixed floor. */
  target: { kind: "min" | "max"; ratio: number };
  notes: string[];
}

const rows = new Map<string, Row>();
function record(
  metric: string,
  unit: string,
  peerName: string,
  target: Row["target"],
  ours: number,
  peer: number,
) {
  let r = rows.get(metric);
  if (!r) {
    r = { metric, unit, ours: [], peer: [], peerName, target, notes: [] };
    rows.set(metric, r);
  }
  r.ours.push(ours);
  r.peer.push(peer);
}

function noteOn(metric: string, text: string) {
  const r = rows.get(metric);
  if (r && !r.notes.includes(text)) r.notes.push(text);
}

const fmt = (v: number) =>
  v >= 1000 ? Math.round(v).toLocaleString("en-US") : v >= 10 ? v.toFixed(0) : v.toFixed(2);

function table(): string {
  const lines = [
    "| metric | despacito | peer | ratio per round | median ratio | target | pass |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of rows.values()) {
    const ratios = r.ours.map((o, i) => o / r.peer[i]);
    const m = median(ratios);
    const ok = r.target.kind === "min" ? m >= r.target.ratio : m <= r.target.ratio;
    const pass = smoke ? "— (smoke)" : ok ? "yes" : "**no**";
    const notes = r.notes.length ? ` (${r.notes.join("; ")})` : "";
    lines.push(
      `| ${r.metric}${notes} | ${fmt(median(r.ours))} ${r.unit} | ${r.peerName}: ${
        fmt(median(r.peer))
      } ${r.unit} | ${ratios.map((x) => x.toFixed(2)).join(", ")} | ${m.toFixed(2)} | ${
        r.target.kind === "min" ? "≥" : "≤"
      } ${r.target.ratio} | ${pass} |`,
    );
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------- the run

async function createBlockingColmena(
  root: string,
  flakeDir: string,
): Promise<{ bin: string; block: string }> {
  const fake = await createFakeColmena(root);
  await fake.seed(flakeDir);
  const block = `${root}/colmena-blocks`;
  const bin = `${root}/colmena-wrapper`;
  // While the block file exists a deployment's colmena waits: the worker is busy, as during a
  // long rollout, and admissions are measured alone.
  await Deno.writeTextFile(
    bin,
    [
      "#!/bin/sh",
      // A real colmena answers --version at once; the fake one is a Deno script (slow to start).
      `[ "$1" = --version ] && { echo "colmena 0.4.0 (bench)"; exit 0; }`,
      `case " $* " in *" apply "*) while [ -e ${
        JSON.stringify(block)
      } ]; do sleep 0.2; done;; esac`,
      `exec ${JSON.stringify(fake.bin)} "$@"`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  return { bin, block };
}

async function main() {
  await ensureTools();
  const root = await Deno.makeTempDir({ prefix: "despacito-bench-" });
  scriptDir = root;
  const cleanup: (() => Promise<void>)[] = [];
  try {
    note("starting PostgreSQL and the fixture flake");
    const cluster = await startCluster();
    cleanup.push(() => cluster.destroy());
    const admin = postgres(cluster.adminUri, { max: 1, onnotice: () => {} });
    for (const db of ["despacito", "despacito_idle", "despacito_deploy", "bare"]) {
      await admin.unsafe(`create database ${db}`);
    }
    await admin.end();
    const dbUri = (db: string) => cluster.adminUri.replace(/\/postgres$/, `/${db}`);

    if (ONLY !== "deployments") await httpMetrics(root, dbUri, cleanup);
    if (ONLY !== "http") {
      await deploymentMetrics({
        root,
        dbUri: dbUri("despacito_deploy"),
        rounds: ROUNDS,
        smoke,
        note,
        record,
        noteOn,
        startDespacito,
      });
    }
    out(table());
    if (stuck.length) out(`\nKilled after not stopping on SIGTERM: ${stuck.join(", ")}`);
    out("");
    out(
      `${new Date().toISOString()} · ${machine()} · deno ${Deno.version.deno} · ` +
        `deno task bench:compare --rounds ${ROUNDS} --duration ${DURATION} --connections ${CONNECTIONS}${
          smoke ? " --smoke" : ""
        }${ONLY ? ` --only ${ONLY}` : ""}`,
    );
  } finally {
    for (const c of cleanup.reverse()) await c().catch((e) => note(`cleanup: ${e}`));
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

/** P1, 409s, reads, start and idle RSS: despacito against webhook and the bare peer under wrk. */
async function httpMetrics(
  root: string,
  dbUri: (db: string) => string,
  cleanup: (() => Promise<void>)[],
) {
  const webapp = await createAppRepo(root, "webapp", ["1.0.0"]);
  const api = await createAppRepo(root, "api", ["2.0.0"]);
  const flake = await createDeployFlake(root, [webapp, api]);
  await webapp.release("1.1.0");
  const colmena = await createBlockingColmena(root, flake.dir);
  const envFor = (data: string, db?: string): Record<string, string> => ({
    DESPACITO_LISTEN: "127.0.0.1:0",
    DESPACITO_DATA_DIR: `${root}/${data}`,
    DESPACITO_FLAKE_DIR: flake.dir,
    DESPACITO_COLMENA_BIN: colmena.bin,
    DESPACITO_FLAKE_REF_SCHEMES: "github,git+https,git+file",
    DESPACITO_SHUTDOWN_TIMEOUT: "1s",
    ...(db ? { DESPACITO_POSTGRES_CONNECTION_URI: dbUri(db) } : {}),
  });

  note("starting despacito (PostgreSQL), the bare peer and adnanh/webhook");
  const desp = await startDespacito("despacito", envFor("data-pg", "despacito"));
  cleanup.push(() => desp.stop());
  const sql = postgres(dbUri("despacito"), { max: 1, onnotice: () => {} });
  cleanup.push(() => sql.end());
  const token = (await createToken(sql, { description: "bench" })).token;
  note(`despacito ready (${Math.round(desp.startMs)} ms)`);
  // Every process of the cluster that is up at both ends of a load (the pools keep theirs).
  pgCpuMs = async () => {
    let ms = 0;
    for (const { pid } of await sql<{ pid: number }[]>`select pid from pg_stat_activity`) {
      try {
        ms += cpuMs(pid);
      } catch { /* ended meanwhile */ }
    }
    return ms;
  };
  // The bare peer's POST /admit runs despacito's admission statement: its database gets the schema.
  const migrated = await runCli(["migrate"], {
    DESPACITO_POSTGRES_CONNECTION_URI: dbUri("bare"),
    DESPACITO_DATA_DIR: `${root}/data-bare`,
  });
  if (migrated.code !== 0) {
    throw new Error(`migrating the bare peer's database: ${migrated.stderr}`);
  }
  const bare = await startBare(dbUri("bare"));
  note(`bare peer ready (${Math.round(bare.startMs)} ms)`);
  cleanup.push(() => bare.stop());
  // With the database too: its POST /admit is the next rung of the floor (statement + guard).
  const guarded = await startBare(dbUri("bare"), `${root}/bare-guarded`);
  cleanup.push(() => guarded.stop());
  const hook = await startWebhook(root);
  cleanup.push(() => hook.stop());

  // One deployment that ends deployed: repeats of it are the duplicate (409) load.
  const first = await fetch(`${desp.url}/webhook`, {
    method: "POST",
    signal: AbortSignal.timeout(120_000),
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ package: "webapp", version: "1.1.0", nix_store_path: STORE_PATH }),
  });
  const firstBody = await first.text();
  if (first.status !== 200) throw new Error(`the first deployment failed: ${firstBody}`);
  note("first deployment deployed");
  await Deno.writeTextFile(colmena.block, "");

  const auth = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
  const bodyOf = (pkg: string, version: string) =>
    JSON.stringify({ package: pkg, version, nix_store_path: STORE_PATH });
  const signedFor = async (body: string) => ({
    "Content-Type": "application/json",
    "X-Hub-Signature-256": `sha256=${await hmacHex(body)}`,
  });
  const fixedBody = bodyOf("api", "2.0.1");
  const signed = await signedFor(fixedBody);
  const dupBody = bodyOf("webapp", "1.1.0");
  const dupDesp = fixedScript("POST", auth, dupBody);
  const dupSigned = await signedFor(dupBody);
  // The bare duplicate's first request inserts; all later ones are the 409 being measured.
  await fetch(`${bare.url}/insert?unique=1`, {
    method: "POST",
    headers: dupSigned,
    body: dupBody,
  }).then((r) => r.body?.cancel());

  // First starts migrate (and create PGlite's cluster): done here, so every measured start
  // finds its schema current.
  await (await startDespacito("despacito-idle", envFor("data-idle", "despacito_idle"))).stop();
  const pgliteEnv = envFor("data-pglite");
  const t = await runCli(["token", "create", "--description", "bench"], pgliteEnv);
  if (t.code !== 0) throw new Error(`token create (PGlite) failed: ${t.stderr}`);
  const pgliteToken = t.stdout.trim();

  const P1 = `P1 POST /webhook?wait=false, new version each (-c${CONNECTIONS}), req/s`;
  const check2xx = (metric: string, r: WrkResult) => {
    if (r.non2xx > 0) noteOn(metric, `${r.non2xx} non-2xx answers`);
  };

  for (let round = 1; round <= ROUNDS; round++) {
    note(`round ${round}/${ROUNDS}`);
    // P1 admission: despacito, then each peer.
    const [a, aCpu, aPg] = await wrkCpu(
      desp.pid,
      desp.url,
      distinctScript(token, "api", `r${round}`),
    );
    const w = await wrk(`${hook.url}/hooks/deploy`, fixedScript("POST", signed, fixedBody));
    const [b, bCpu, bPg] = await wrkCpu(
      bare.pid,
      `${bare.url}/insert`,
      fixedScript("POST", signed, fixedBody),
    );
    // The floor of the required parts: the bare peer running despacito's admission statement.
    const [ba, baCpu, baPg] = await wrkCpu(
      bare.pid,
      `${bare.url}/admit`,
      fixedScript("POST", signed, fixedBody),
    );
    const h = await wrk(`${bare.url}/hmac`, fixedScript("POST", signed, fixedBody));
    record(
      `${P1} vs adnanh/webhook`,
      "req/s",
      "webhook",
      { kind: "min", ratio: 1.0 },
      a.rps,
      w.rps,
    );
    record(
      `${P1} vs bare+INSERT`,
      "req/s",
      "bare+INSERT",
      { kind: "min", ratio: 0.5 },
      a.rps,
      b.rps,
    );
    record(
      `${P1} vs bare HMAC+JSON (no target)`,
      "req/s",
      "bare HMAC+JSON",
      { kind: "min", ratio: 0 },
      a.rps,
      h.rps,
    );
    record("P1 p99 latency", "ms", "bare+INSERT", { kind: "max", ratio: 2 }, a.p99, b.p99);
    cpuOn(`${P1} vs bare+INSERT`, aCpu, bCpu, [aPg, bPg]);
    check2xx(`${P1} vs bare+INSERT`, a);
    check2xx(`${P1} vs adnanh/webhook`, w);
    const vsFloor = `${P1} vs bare + despacito's admission statement (no target)`;
    record(vsFloor, "req/s", "bare+admission", { kind: "min", ratio: 0 }, a.rps, ba.rps);
    cpuOn(vsFloor, aCpu, baCpu, [aPg, baPg]);
    const floor = `bare + despacito's admission statement vs bare+INSERT, req/s (no target)`;
    record(floor, "req/s", "bare+INSERT", { kind: "min", ratio: 0 }, ba.rps, b.rps);
    cpuOn(floor, baCpu, bCpu, [baPg, bPg]);
    check2xx(floor, ba);

    // Duplicates: 409 from despacito; the bare peer's unique INSERT conflicts.
    const [d, dCpu, dPg] = await wrkCpu(desp.pid, `${desp.url}/webhook?wait=false`, dupDesp);
    const [db, dbCpu, dbPg] = await wrkCpu(
      bare.pid,
      `${bare.url}/insert?unique=1`,
      fixedScript("POST", dupSigned, dupBody),
    );
    cpuOn("duplicate → 409, req/s", dCpu, dbCpu, [dPg, dbPg]);
    record(
      "duplicate → 409, req/s",
      "req/s",
      "bare+INSERT (conflict)",
      { kind: "min", ratio: 0.5 },
      d.rps,
      db.rps,
    );
    if (d.non2xx < d.requests) noteOn("duplicate → 409, req/s", "some answers were not 409");
    // The same floor for a repeat: despacito's statement answering a repeat, in the bare peer.
    const [dr, drCpu, drPg] = await wrkCpu(
      bare.pid,
      `${bare.url}/admit?repeat=1`,
      fixedScript("POST", dupSigned, dupBody),
    );
    const dupFloor =
      `bare + despacito's admission statement, repeat → 409, vs bare+INSERT (conflict), req/s (no target)`;
    record(dupFloor, "req/s", "bare+INSERT (conflict)", { kind: "min", ratio: 0 }, dr.rps, db.rps);
    cpuOn(dupFloor, drCpu, dbCpu, [drPg, dbPg]);
    if (dr.non2xx < dr.requests - 1) noteOn(dupFloor, "some answers were not 409");
    // … and behind despacito's connection guard.
    const [dg, dgCpu, dgPg] = await wrkCpu(
      guarded.pid,
      `${guarded.url}/admit?repeat=1`,
      fixedScript("POST", dupSigned, dupBody),
    );
    const dupGuarded =
      `bare + despacito's admission statement behind the connection guard, repeat → 409, vs bare+INSERT (conflict), req/s (no target)`;
    record(
      dupGuarded,
      "req/s",
      "bare+INSERT (conflict)",
      { kind: "min", ratio: 0 },
      dg.rps,
      db.rps,
    );
    cpuOn(dupGuarded, dgCpu, dbCpu, [dgPg, dbPg]);
    const dupVsGuarded = `duplicate → 409 vs bare + admission statement + guard, req/s (no target)`;
    record(dupVsGuarded, "req/s", "bare+admission+guard", { kind: "min", ratio: 0 }, d.rps, dg.rps);
    cpuOn(dupVsGuarded, dCpu, dgCpu, [dPg, dgPg]);

    // Reads.
    const l = await wrk(`${desp.url}/api/deployments?limit=50`, fixedScript("GET", auth));
    const ls = await wrk(`${bare.url}/select`, fixedScript("GET", {}));
    record(
      "GET /api/deployments?limit=50, req/s",
      "req/s",
      "bare+SELECT",
      { kind: "min", ratio: 0.25 },
      l.rps,
      ls.rps,
    );
    check2xx("GET /api/deployments?limit=50, req/s", l);
    const [hh, hhCpu] = await wrkCpu(desp.pid, `${desp.url}/health`, fixedScript("GET", {}));
    const [hb, hbCpu] = await wrkCpu(bare.pid, `${bare.url}/`, fixedScript("GET", {}));
    cpuOn("GET /health, req/s", hhCpu, hbCpu);
    record(
      "GET /health, req/s",
      "req/s",
      "bare hello",
      { kind: "min", ratio: 0.7 },
      hh.rps,
      hb.rps,
    );
    check2xx("GET /health, req/s", hh);
    // What the connection guard alone costs: the same bare hello behind it (src/http/conn_guard.ts).
    const [hg, hgCpu] = await wrkCpu(guarded.pid, `${guarded.url}/`, fixedScript("GET", {}));
    cpuOn(
      "bare hello behind despacito's connection guard vs bare hello, req/s (no target)",
      hgCpu,
      hbCpu,
    );
    record(
      "bare hello behind despacito's connection guard vs bare hello, req/s (no target)",
      "req/s",
      "bare hello",
      { kind: "min", ratio: 0 },
      hg.rps,
      hb.rps,
    );
    record(
      "GET /health vs bare hello behind the connection guard, req/s (no target)",
      "req/s",
      "bare hello, guarded",
      { kind: "min", ratio: 0 },
      hh.rps,
      hg.rps,
    );

    // A fresh process each: start → ready (schema current) and idle RSS.
    const s = await startDespacito("despacito-idle", envFor("data-idle", "despacito_idle"));
    await settle(1500);
    const sRss = await rssMb(s.pid);
    await s.stop();
    const sb = await startBare();
    await settle(1500);
    const sbRss = await rssMb(sb.pid);
    await sb.stop();
    record(
      "start → ready, PostgreSQL, schema current",
      "ms",
      "bare start → listening",
      { kind: "max", ratio: 3 },
      s.startMs,
      sb.startMs,
    );
    startCpu.ours.push(s.startCpuMs!);
    startCpu.peer.push(sb.startCpuMs!);
    record("idle RSS, PostgreSQL", "MB", "bare hello", { kind: "max", ratio: 1.3 }, sRss, sbRss);

    // PGlite: a fresh start on its own data dir, idle RSS, then the same admission load.
    const pg = await startDespacito("despacito-pglite", pgliteEnv);
    await settle(1500);
    const pgRss = await rssMb(pg.pid);
    // One admission first: PGlite's first statements are compiled then, not inside a 1 s smoke.
    const warm = await fetch(`${pg.url}/webhook?wait=false`, {
      method: "POST",
      signal: AbortSignal.timeout(60_000),
      headers: { Authorization: `Bearer ${pgliteToken}`, "Content-Type": "application/json" },
      body: bodyOf("api", `p${round}-warm`),
    });
    if (warm.status !== 202) {
      throw new Error(`PGlite admission: ${warm.status} ${await warm.text()}`);
    }
    await warm.body?.cancel();
    const pa = await wrk(pg.url, distinctScript(pgliteToken, "api", `p${round}`));
    await pg.stop();
    record(
      "P1 on PGlite vs on PostgreSQL, req/s",
      "req/s",
      "despacito on PostgreSQL",
      { kind: "min", ratio: 0.5 },
      pa.rps,
      a.rps,
    );
    check2xx("P1 on PGlite vs on PostgreSQL, req/s", pa);
    record("idle RSS, PGlite", "MB", "floor 150 MB", { kind: "max", ratio: 1 }, pgRss, 150);
  }
  noteOn(
    "start → ready, PostgreSQL, schema current",
    `CPU from spawn to ready (median): ${median(startCpu.ours)} ms vs ${median(startCpu.peer)} ms`,
  );
  for (const [metric, c] of cpuPerRequest) {
    noteOn(
      metric,
      `server CPU per request (median): ${Math.round(median(c.ours))} µs vs ${
        Math.round(median(c.peer))
      } µs`,
    );
  }
  for (const [metric, c] of pgCpuPerRequest) {
    noteOn(
      metric,
      `PostgreSQL's CPU per request (median): ${Math.round(median(c.ours))} µs vs ${
        Math.round(median(c.peer))
      } µs`,
    );
  }
}

function machine(): string {
  let cpu = "?";
  try {
    cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/)?.[1] ?? "?";
  } catch { /* not Linux */ }
  return `${navigator.hardwareConcurrency} × ${cpu}, ${Deno.build.os}`;
}

await main();
