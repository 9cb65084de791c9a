/**
 * Where despacito's idle memory goes: a ladder of fresh processes from the
 * bare Hono hello to despacito, each measured as bench/compare.ts measures
 * its "idle RSS" rows (VmRSS 1.5 s after the ready line), started in turn
 * (A, B, C…, several rounds; RSS moves by a few tenths of a MB between
 * starts), with what the RSS is made of from /proc/<pid>/smaps: pages of the
 * deno binary's code and of its other sections, anonymous memory (V8's heap,
 * thread stacks, malloc arenas of other threads), the main malloc heap, and
 * the process's threads and PostgreSQL connections at that moment.
 *
 *   deno task bench:rss [--starts 5] [--settle 1500] [--flags="<deno run flags>"]
 *
 * The rungs: the bare hello (bench/peers/bare.ts, compare.ts's peer); the
 * same with one postgres.js connection and its queries (BENCH_PG_URI); the
 * same behind despacito's connection guard (BENCH_GUARDED); the same after
 * importing despacito's start graph (src/cli/serve.ts and what it imports
 * statically, nothing of it run); despacito itself as it ships (PostgreSQL,
 * schema current, production permission flags). `--flags=…` adds a rung of
 * despacito with more `deno run` flags (e.g. `--flags=--no-code-cache`),
 * to weigh a flag before proposing it. PostgreSQL: DESPACITO_TEST_POSTGRES_URI,
 * else a cluster of its own. bench/README.md ("Targets that do not hold")
 * has a run's figures.
 */

import { parseArgs } from "node:util";
import postgres from "postgres";
import { createAppRepo, createDeployFlake } from "../tests/_harness/flakes.ts";
import { freshDatabase, sharedPostgres } from "../tests/_harness/postgres.ts";
import { denoRunArgs, REPO_DIR } from "../tests/_harness/server.ts";
import { gatedColmena } from "./deploy_metrics.ts";
import { baseEnv, spawnUntil } from "./procs.ts";
import { median } from "./wrk.ts";

const opts = parseArgs({
  args: Deno.args,
  options: {
    starts: { type: "string", default: "5" },
    settle: { type: "string", default: "1500" },
    flags: { type: "string" },
  },
});
const STARTS = Number(opts.values.starts);
const SETTLE_MS = Number(opts.values.settle);

interface Rung {
  name: string;
  argv: string[];
  env: Record<string, string>;
  /** The ready line; its first group is the address. */
  ready: RegExp;
  /** Its database, when it opens one. */
  db?: string;
}

interface Sample {
  rss: number;
  denoText: number;
  denoOther: number;
  anon: number;
  heap: number;
  other: number;
  threads: number;
  connections: number;
}

/** RSS by kind of mapping, in MB: VmRSS and the smaps lines it sums. */
async function breakdown(pid: number): Promise<Omit<Sample, "threads" | "connections">> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const rss = Number(status.match(/VmRSS:\s+(\d+) kB/)?.[1]) / 1024;
  const out = { rss, denoText: 0, denoOther: 0, anon: 0, heap: 0, other: 0 };
  const deno = Deno.execPath();
  let kind: keyof typeof out = "other";
  for (const line of (await Deno.readTextFile(`/proc/${pid}/smaps`)).split("\n")) {
    const m = line.match(/^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/);
    if (m) {
      const [, perms, path] = m;
      kind = path === deno
        ? (perms.includes("x") ? "denoText" : "denoOther")
        : path === "[heap]"
        ? "heap"
        : path === ""
        ? "anon"
        : "other";
      continue;
    }
    const r = line.match(/^Rss:\s+(\d+) kB/);
    if (r) out[kind] += Number(r[1]) / 1024;
  }
  return out;
}

async function measure(rung: Rung, admin: postgres.Sql | undefined): Promise<Sample> {
  const proc = await spawnUntil(rung.name, rung.argv, rung.env, rung.ready);
  try {
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const sample: Sample = {
      ...(await breakdown(proc.pid)),
      threads: [...Deno.readDirSync(`/proc/${proc.pid}/task`)].length,
      connections: 0,
    };
    if (rung.db && admin) {
      const [row] = await admin<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity where datname = ${rung.db}`;
      sample.connections = row.n;
    }
    return sample;
  } finally {
    await proc.stop();
  }
}

async function main() {
  const root = await Deno.makeTempDir({ prefix: "idle-rss-" });
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    const adminUri = await sharedPostgres();
    const admin = postgres(adminUri, { max: 1, onnotice: () => {} });
    cleanup.push(() => admin.end());
    /** A fresh database (tests/_harness/postgres.ts) and its name, for pg_stat_activity. */
    const database = async () => {
      const fresh = await freshDatabase(adminUri);
      cleanup.push(() => fresh.drop());
      return { db: new URL(fresh.uri).pathname.slice(1), uri: fresh.uri };
    };

    // despacito's setting as in bench/compare.ts: a flake with an input, a colmena that answers
    // --version at once.
    const webapp = await createAppRepo(root, "webapp", ["1.0.0"]);
    const flake = await createDeployFlake(root, [webapp]);
    const colmena = (await gatedColmena(root, flake.dir)).bin;

    const bareFlags = ["--allow-net", "--allow-env", "--allow-read", "--allow-sys"];
    const bare = (name: string, env: Record<string, string>, script: string[], db?: string) => ({
      name,
      argv: [Deno.execPath(), "run", ...bareFlags, ...script],
      env: { ...baseEnv(), BENCH_SECRET: "idle", ...env },
      ready: /listening (\d+)/,
      db,
    });
    const guardDir = (n: string) => `${root}/guard-${n}`;
    const withModules = `${root}/with_modules.ts`;
    await Deno.writeTextFile(
      withModules,
      `import ${JSON.stringify(`file://${REPO_DIR}/src/cli/serve.ts`)};\n` +
        `await import(${JSON.stringify(`file://${REPO_DIR}/bench/peers/bare.ts`)});\n`,
    );
    const pgConn = await database();
    const pgGuard = await database();
    const pgModules = await database();
    const rungs: Rung[] = [
      bare("bare hello", {}, [`${REPO_DIR}/bench/peers/bare.ts`]),
      bare(
        "+ postgres.js connection",
        { BENCH_PG_URI: pgConn.uri },
        [`${REPO_DIR}/bench/peers/bare.ts`],
        pgConn.db,
      ),
      bare(
        "+ connection guard",
        { BENCH_PG_URI: pgGuard.uri, BENCH_GUARDED: guardDir("g") },
        [`--allow-write=${guardDir("g")}`, `${REPO_DIR}/bench/peers/bare.ts`],
        pgGuard.db,
      ),
      bare(
        "+ serve's modules loaded",
        { BENCH_PG_URI: pgModules.uri, BENCH_GUARDED: guardDir("m") },
        [`--allow-write=${guardDir("m")}`, "--config", `${REPO_DIR}/deno.json`, withModules],
        pgModules.db,
      ),
    ];
    let n = 0;
    const despacito = async (name: string, flags: string[]) => {
      const { db, uri } = await database();
      const env = {
        DESPACITO_LISTEN: "127.0.0.1:0",
        // Short: the guard's private socket lives under it.
        DESPACITO_DATA_DIR: `${root}/d${n++}`,
        DESPACITO_FLAKE_DIR: flake.dir,
        DESPACITO_COLMENA_BIN: colmena,
        DESPACITO_FLAKE_REF_SCHEMES: "github,git+https,git+file",
        DESPACITO_SHUTDOWN_TIMEOUT: "1s",
        DESPACITO_POSTGRES_CONNECTION_URI: uri,
      };
      const [run, ...rest] = denoRunArgs(env, ["serve"]);
      const rung: Rung = {
        name,
        argv: [Deno.execPath(), run, ...flags, ...rest],
        env: { ...baseEnv(), ...env },
        ready: /"msg":"despacito started"[^\n]*"address":"([^"]+)"/,
        db,
      };
      // The first start migrates: every measured start finds its schema current.
      await measure(rung, admin);
      rungs.push(rung);
    };
    await despacito("despacito", []);
    if (opts.values.flags) {
      await despacito(`despacito ${opts.values.flags}`, opts.values.flags.split(/\s+/));
    }

    const samples = new Map<string, Sample[]>(rungs.map((r) => [r.name, []]));
    for (let i = 0; i < STARTS; i++) {
      for (const r of rungs) samples.get(r.name)!.push(await measure(r, admin));
    }

    const fmt = (n: number) => n.toFixed(1);
    const bareRss = median(samples.get("bare hello")!.map((s) => s.rss));
    const lines = [
      `idle RSS ${SETTLE_MS} ms after ready, MB (median of ${STARTS} starts each, interleaved)`,
      "",
      "| rung | RSS | starts | × bare | deno code | deno data | anonymous | malloc heap | other | threads | PG conns |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ];
    for (const r of rungs) {
      const s = samples.get(r.name)!;
      const m = (k: keyof Sample) => median(s.map((x) => x[k]));
      lines.push(
        `| ${r.name} | ${fmt(m("rss"))} | ${s.map((x) => fmt(x.rss)).join(", ")} | ${
          (m("rss") / bareRss).toFixed(2)
        } | ${fmt(m("denoText"))} | ${fmt(m("denoOther"))} | ${fmt(m("anon"))} | ${
          fmt(m("heap"))
        } | ${fmt(m("other"))} | ${m("threads")} | ${m("connections")} |`,
      );
    }
    lines.push("", `${new Date().toISOString()} · deno ${Deno.version.deno}`);
    // deno-lint-ignore no-console
    console.log(lines.join("\n"));
  } finally {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
