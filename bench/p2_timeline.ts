/**
 * P2 alone, step by step: one deployment (webhook wait=true → deployed) on
 * two builds of despacito, alternated pair by pair (A, B, script, A, B,
 * script…), with the bench's flakes and fake colmena (bench/deploy_metrics.ts)
 * and bench/peers/deploy.sh as the third column. Prints, per build, the
 * median wall time, CPU per deployment (from /proc) and the median time
 * between the deployment's landmarks in despacito's own log (debug level:
 * its system lines and exec records, stamped in ms), so that a cut in one
 * wait is seen where it was made.
 *
 *   deno run -A bench/p2_timeline.ts [--pairs 20] <dir of build A> [<dir of build B>]
 *
 * A build dir is a checkout of despacito (e.g. `git archive main | tar -x -C /tmp/main`
 * and `deno install --frozen` there); each runs as it ships (the production permission flags
 * of this checkout, its paths swapped for the build's) on a fresh database of
 * DESPACITO_TEST_POSTGRES_URI (or a cluster of its own).
 */

import postgres from "postgres";
import { createToken } from "../src/auth/tokens.ts";
import { createAppRepo, createDeployFlake } from "../tests/_harness/flakes.ts";
import { freshDatabase } from "../tests/_harness/postgres.ts";
import { denoRunArgs, REPO_DIR } from "../tests/_harness/server.ts";
import { cpuMs, gatedColmena } from "./deploy_metrics.ts";
import { baseEnv } from "./procs.ts";
import { median } from "./wrk.ts";

const STORE_PATH = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-webapp-1.1.0";

/** Landmarks in a deployment's log, in order: [label, does this record mark it?]. */
type Rec = { time: string; msg: string; argv?: string[]; argv0?: string };
const MARKS: [string, (r: Rec) => boolean][] = [
  ["started", (r) => / started$/.test(r.msg) && r.msg.startsWith("deployment of")],
  ["$ nix", (r) => r.msg.startsWith("$ ") && r.msg.includes(" flake ")],
  ["nix spawned", (r) => r.msg === "exec" && /nix$/.test(r.argv?.[0] ?? "")],
  ["nix exited", (r) => r.msg === "exec done" && /nix$/.test(r.argv0 ?? "")],
  ["locked at", (r) => / locked at /.test(r.msg)],
  ["committed", (r) => r.msg.startsWith("committed ")],
  ["$ colmena", (r) => r.msg.startsWith("$ ") && r.msg.includes(" apply ")],
  ["colmena spawned", (r) => r.msg === "exec" && /colmena$/.test(r.argv?.[0] ?? "")],
  ["colmena exited", (r) => r.msg === "exec done" && /colmena$/.test(r.argv0 ?? "")],
  ["activated", (r) => r.msg.startsWith("activated ")],
  ["deployed", (r) => r.msg.startsWith("deployed ")],
];

interface Build {
  name: string;
  url: string;
  pid: number;
  token: string;
  /** Log records by deployment id. */
  records: Map<string, Rec[]>;
  stop(): Promise<void>;
  rows: { ms: number; cpu: number; gaps: number[]; probes: Record<string, number> }[];
  deploy(): Promise<void>;
}

async function startBuild(name: string, dir: string, root: string): Promise<Build> {
  const apps = [
    await createAppRepo(root, "webapp", ["1.0.0"]),
    await createAppRepo(root, "api", ["2.0.0"]),
  ];
  const flake = await createDeployFlake(root, apps);
  const colmena = await gatedColmena(`${root}/colmena`, flake.dir);
  const db = await freshDatabase();
  const despacito = {
    DESPACITO_LISTEN: "127.0.0.1:0",
    DESPACITO_DATA_DIR: `${root}/data`,
    DESPACITO_FLAKE_DIR: flake.dir,
    DESPACITO_COLMENA_BIN: colmena.bin,
    DESPACITO_POSTGRES_CONNECTION_URI: db.uri,
    DESPACITO_SHUTDOWN_TIMEOUT: "1s",
    DESPACITO_LOG_LEVEL: "debug",
  };
  const env = { ...baseEnv(), ...despacito };
  const args = denoRunArgs(env, ["serve"]).map((a) => a.replaceAll(REPO_DIR, dir));
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env,
    clearEnv: true,
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const records = new Map<string, Rec[]>();
  let address: (v: string) => void = () => {};
  const ready = new Promise<string>((r) => address = r);
  const reading = (async () => {
    let pending = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const l of lines) {
        const r = JSON.parse(l);
        if (r.msg === "despacito started") address(r.address);
        const id = r.deployment_id;
        if (id) records.set(id, [...records.get(id) ?? [], r]);
      }
    }
  })();
  const addr = await ready;
  const url = /^\d+$/.test(addr) ? `http://127.0.0.1:${addr}` : `http://${addr}`;
  const sql = postgres(db.uri, { max: 1, onnotice: () => {} });
  const token = (await createToken(sql, { description: "p2" }).finally(() => sql.end())).token;
  let n = 0;
  const b: Build = {
    name,
    url,
    pid: child.pid,
    token,
    records,
    rows: [],
    deploy: () => Promise.reject(new Error("set below")),
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await reading;
      await db.drop();
    },
  };
  /** One deployment; its wall time, CPU and landmark gaps are kept. */
  b.deploy = async () => {
    const version = `1.5.${++n}`;
    await apps[0].release(version);
    const cpu0 = cpuMs(child.pid);
    const t0 = Date.now();
    const p0 = performance.now();
    const r = await fetch(`${url}/webhook?wait=true`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ package: "webapp", version, nix_store_path: STORE_PATH }),
    });
    const ms = performance.now() - p0;
    const t1 = Date.now();
    const body = await r.json();
    if (r.status !== 200) {
      throw new Error(`${name} ${version}: ${r.status} ${JSON.stringify(body)}`);
    }
    const cpu = cpuMs(child.pid) - cpu0;
    // The log is written in batches of a few ms: wait for the last landmark.
    const deadline = Date.now() + 5_000;
    const has = () => (records.get(body.deployment_id) ?? []).some((x) => MARKS.at(-1)![1](x));
    while (!has() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const recs = records.get(body.deployment_id) ?? [];
    const times = [t0, ...MARKS.map(([, f]) => Date.parse(recs.find(f)?.time ?? "")), t1];
    // Any record whose message starts with "T " (a probe added while measuring) is a landmark too.
    const probes: Record<string, number> = {};
    for (const x of recs) if (x.msg.startsWith("T ")) probes[x.msg] ??= Date.parse(x.time) - t0;
    b.rows.push({ ms, cpu, gaps: times.slice(1).map((t, i) => t - times[i]), probes });
  };
  return b;
}

async function script(root: string) {
  const apps = [
    await createAppRepo(root, "webapp", ["1.0.0"]),
    await createAppRepo(root, "api", ["2.0.0"]),
  ];
  const flake = await createDeployFlake(root, apps);
  const colmena = await gatedColmena(`${root}/colmena`, flake.dir);
  let n = 0;
  const rows: number[] = [];
  /** start → nix, nix → git commit, git commit → colmena, colmena → end (ms). */
  const steps: number[][] = [];
  return {
    rows,
    steps,
    async deploy() {
      const v = `1.5.${++n}`;
      await apps[0].release(v);
      const t0 = Date.now() / 1000;
      const p0 = performance.now();
      // Traced (`bash -x`, each command stamped): when nix, git and colmena started.
      const r = await new Deno.Command("bash", {
        // (PS4 set inside: bash running as root ignores it from the environment.)
        args: [
          "-c",
          `PS4='+$EPOCHREALTIME '; set -x; . ${REPO_DIR}/bench/peers/deploy.sh "$@"`,
          "deploy.sh",
          flake.dir,
          "webapp",
          v,
          colmena.bin,
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const t1 = Date.now() / 1000;
      rows.push(performance.now() - p0);
      const err = new TextDecoder().decode(r.stderr);
      if (!r.success) throw new Error(`deploy.sh: ${err}`);
      const at = (re: RegExp) =>
        Number(err.split("\n").find((l) => re.test(l))?.split(" ")[0].slice(1));
      const marks = [
        t0,
        at(/^\+\S+ nix /),
        at(/^\+\S+ git commit/),
        at(/^\+\S+ \S*colmena apply/),
        t1,
      ];
      steps.push(marks.slice(1).map((t, i) => (t - marks[i]) * 1000));
    },
  };
}

const out = (s: string) => Deno.stdout.writeSync(new TextEncoder().encode(`${s}\n`));

if (import.meta.main) {
  const argv = [...Deno.args];
  const i = argv.indexOf("--pairs");
  const pairs = i >= 0 ? Number(argv.splice(i, 2)[1]) : 20;
  const root = await Deno.makeTempDir({ prefix: "p2-" });
  const builds: Build[] = [];
  try {
    for (const [k, dir] of argv.entries()) {
      builds.push(await startBuild(String.fromCharCode(65 + k), dir, `${root}/${k}`));
    }
    const peer = await script(`${root}/script`);
    // One of each to warm up (nix's cache, the first statements' plans), not counted.
    for (const b of builds) await b.deploy(), b.rows.length = 0;
    await peer.deploy(), peer.rows.length = 0, peer.steps.length = 0;
    for (let p = 0; p < pairs; p++) {
      for (const b of p % 2 ? [...builds].reverse() : builds) await b.deploy();
      await peer.deploy();
    }
    const s = median(peer.rows);
    const labels = ["admission+claim → started", ...MARKS.slice(1).map(([l]) => `→ ${l}`)];
    labels.push("→ answer");
    const f = (x: number) => x.toFixed(1).padStart(7);
    out(`uptime: ${(await Deno.readTextFile("/proc/loadavg")).trim()}`);
    out(
      `script: ${
        s.toFixed(1)
      } ms (median of ${peer.rows.length}); start → nix, nix, git commit, colmena: ${
        [0, 1, 2, 3].map((k) => median(peer.steps.map((x) => x[k])).toFixed(1)).join(", ")
      } ms`,
    );
    out(
      `${"".padEnd(30)}${
        builds.map((b) => `${b.name} ${argv[builds.indexOf(b)]}`.slice(0, 7).padStart(7)).join("")
      }`,
    );
    for (const [k, l] of [...labels.entries(), [-1, "wall"], [-2, "CPU"], [-3, "ratio"]] as const) {
      const col = (b: Build) => {
        const ms = median(b.rows.map((r) => r.ms));
        if (k === -1) return ms;
        if (k === -2) return median(b.rows.map((r) => r.cpu));
        if (k === -3) return ms / s;
        return median(b.rows.map((r) => r.gaps[k]));
      };
      out(`${String(l).padEnd(30)}${builds.map((b) => f(col(b))).join("")}`);
    }
    for (const b of builds) {
      const names = [...new Set(b.rows.flatMap((r) => Object.keys(r.probes)))];
      const at = names.map((n) =>
        [n, median(b.rows.map((r) => r.probes[n]).filter((x) => x !== undefined))] as const
      ).sort((x, y) => x[1] - y[1]);
      for (const [n, t] of at) out(`${b.name} ${f(t)} ms after the request: ${n}`);
    }
  } finally {
    for (const b of builds) await b.stop().catch((e) => out(`stop: ${e}`));
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}
