/**
 * The deployment rows of bench/compare.ts, each despacito's own wall time
 * against a peer, interleaved per round:
 *
 * - P2: one deployment (webhook with wait=true → deployed) against
 *   bench/peers/deploy.sh doing the same git/nix/colmena work by hand;
 * - P7: 2,000 log lines to 500 SSE subscribers (bench/sse_subscribers.ts,
 *   another process) against the same deployment with none; every
 *   subscriber must get every line, in order;
 * - 20,000 lines of colmena output stored and streamed against the same
 *   output written to /dev/null by colmena.
 *
 * despacito runs as it ships on PostgreSQL with its own deployment flake
 * and the fake colmena (tests/_harness/fake_colmena.ts, `lines` prints the
 * numbered lines), behind a wrapper that answers `--version` at once, as a
 * real colmena does. For P7 and the 20,000 lines the measured deployment
 * waits in the queue behind one whose colmena holds until the subscribers
 * are connected; its wall time is from its start (`started_at`) to the
 * webhook's answer or the last subscriber's `end`, whichever is later.
 */

import postgres from "postgres";
import { createToken } from "../src/auth/tokens.ts";
import { type AppRepo, createAppRepo, createDeployFlake } from "../tests/_harness/flakes.ts";
import { createFakeColmena } from "../tests/_harness/fake_colmena.ts";
import { REPO_DIR } from "../tests/_harness/server.ts";
import { median } from "./wrk.ts";

const STORE_PATH = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-webapp-1.1.0";

export interface DeployBench {
  root: string;
  /** A database of its own for despacito. */
  dbUri: string;
  rounds: number;
  smoke: boolean;
  note(s: string): void;
  record(
    metric: string,
    unit: string,
    peerName: string,
    target: { kind: "min" | "max"; ratio: number },
    ours: number,
    peer: number,
  ): void;
  noteOn(metric: string, text: string): void;
  startDespacito(
    name: string,
    env: Record<string, string>,
  ): Promise<{ url: string; pid: number; stop(): Promise<void> }>;
}

/** A fake colmena behind a wrapper: quick `--version`, and `hold()` parks the next apply. */
export async function gatedColmena(root: string, flakeDir: string) {
  const fake = await createFakeColmena(root);
  await fake.seed(flakeDir);
  const bin = `${root}/colmena`;
  const f = (name: string) => JSON.stringify(`${root}/${name}`);
  await Deno.writeTextFile(
    bin,
    [
      "#!/bin/sh",
      `[ "$1" = --version ] && { echo "colmena 0.4.0 (bench)"; exit 0; }`,
      // A held apply does nothing but wait: it only keeps the worker busy.
      `if [ "$1" = apply ] && [ -e ${f("hold")} ]; then`,
      `  rm -f ${f("hold")}; : > ${f("held")}`,
      // Bounded (2 minutes): a bench killed before it says go must not leave this loop behind.
      `  i=0; while [ ! -e ${f("go")} ] && [ $i -lt 12000 ]; do sleep 0.01; i=$((i + 1)); done`,
      `  rm -f ${f("go")} ${f("held")}; exit 0`,
      "fi",
      `exec ${JSON.stringify(fake.bin)} "$@"`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  return {
    bin,
    fake,
    hold: () => Deno.writeTextFile(`${root}/hold`, ""),
    held: () => Deno.stat(`${root}/held`).then(() => true, () => false),
    go: () => Deno.writeTextFile(`${root}/go`, ""),
  };
}

/** CPU time (user + system) a process has used, from /proc. */
export function cpuMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10; // utime, stime in clock ticks of 10 ms
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Subscribers {
  result: Promise<{ complete: number; failures: string[]; lastEndAt: number; cpuMs: number }>;
}

/** Starts bench/sse_subscribers.ts and resolves once all its streams are open. */
async function subscribe(url: string, token: string, count: number, lines: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      `${REPO_DIR}/bench/sse_subscribers.ts`,
      url,
      token,
      `${count}`,
      `${lines}`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the SSE subscribers failed: ${out}${await stderr}`);
    out += value;
  }
  const result = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const status = await child.status;
    const last = out.trim().split("\n").pop() ?? "";
    if (!status.success || !last.startsWith("{")) {
      throw new Error(`the SSE subscribers failed: ${out}${await stderr}`);
    }
    return JSON.parse(last);
  })();
  return { result } satisfies Subscribers;
}

export async function deploymentMetrics(b: DeployBench): Promise<void> {
  const dir = `${b.root}/dm`;
  const webapp = await createAppRepo(dir, "webapp", ["1.0.0"]);
  const api = await createAppRepo(dir, "api", ["2.0.0"]);
  const flake = await createDeployFlake(dir, [webapp, api]);
  const peerFlake = await createDeployFlake(`${dir}/peer`, [webapp, api]);
  const colmena = await gatedColmena(`${dir}/colmena`, flake.dir);
  const peerColmena = await gatedColmena(`${dir}/peer-colmena`, peerFlake.dir);

  const desp = await b.startDespacito("despacito-deploy", {
    DESPACITO_LISTEN: "127.0.0.1:0",
    DESPACITO_DATA_DIR: `${dir}/data`,
    DESPACITO_FLAKE_DIR: flake.dir,
    DESPACITO_COLMENA_BIN: colmena.bin,
    DESPACITO_POSTGRES_CONNECTION_URI: b.dbUri,
    DESPACITO_SHUTDOWN_TIMEOUT: "1s",
  });
  try {
    const sql = postgres(b.dbUri, { max: 1, onnotice: () => {} });
    const token = (await createToken(sql, { description: "bench" }).finally(() => sql.end()))
      .token;
    const api_ = (path: string, init: RequestInit = {}) =>
      fetch(`${desp.url}${path}`, {
        ...init,
        signal: AbortSignal.timeout(300_000),
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      });
    let n = 0;
    const release = async (app: AppRepo) => {
      const version = `${app === webapp ? 1 : 2}.5.${++n}`;
      await app.release(version);
      return version;
    };
    const webhook = async (pkg: string, version: string, wait: boolean) => {
      const r = await api_(`/webhook?wait=${wait}`, {
        method: "POST",
        body: JSON.stringify({ package: pkg, version, nix_store_path: STORE_PATH }),
      });
      const body = await r.json();
      if (r.status !== (wait ? 200 : 202)) {
        throw new Error(`${pkg} ${version}: ${r.status} ${JSON.stringify(body)}`);
      }
      return body as { deployment_id: string };
    };

    /** P2, despacito: admission to the answer "deployed". */
    const ours = async () => {
      const v = await release(webapp);
      const t0 = performance.now();
      await webhook("webapp", v, true);
      return performance.now() - t0;
    };
    const peer = async () => {
      const v = await release(webapp);
      const t0 = performance.now();
      const r = await new Deno.Command("bash", {
        args: [`${REPO_DIR}/bench/peers/deploy.sh`, peerFlake.dir, "webapp", v, peerColmena.bin],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const ms = performance.now() - t0;
      if (!r.success) throw new Error(`deploy.sh failed: ${new TextDecoder().decode(r.stderr)}`);
      return ms;
    };

    /**
     * One deployment of webapp printing `lines` lines, queued behind a held one of api so that
     * `subscribers` SSE streams are open before it starts; its wall time in ms.
     */
    const measured = async (lines: number, discard: boolean, subscribers: number) => {
      await colmena.fake.set({ lines: { count: lines, discard } });
      await colmena.hold();
      await webhook("api", await release(api), false);
      await until("the held deployment", async () => (await colmena.held()) || undefined);
      const v = await release(webapp);
      const done = webhook("webapp", v, true).then(() => Date.now());
      const id = await until("the queued deployment", async () => {
        const r = await api_(`/api/deployments?package=webapp&status=queued&limit=1`);
        const d = (await r.json()).deployments?.[0];
        return d?.version === v ? d.id as string : undefined;
      });
      const subs = subscribers
        ? await subscribe(
          `${desp.url}/api/deployments/${id}/events`,
          token,
          subscribers,
          discard ? 0 : lines,
        )
        : undefined;
      const cpu0 = cpuMs(desp.pid);
      await colmena.go();
      const end = await done;
      const cpu = cpuMs(desp.pid) - cpu0;
      const row = await (await api_(`/api/deployments/${id}`)).json();
      const started = Date.parse(row.started_at);
      if (!subs) {
        return {
          ms: end - started,
          lagMs: 0,
          cpu,
          subsCpu: 0,
          complete: 0,
          failures: [] as string[],
        };
      }
      const s = await subs.result;
      if (Deno.env.get("BENCH_VERBOSE")) {
        const steps = row.steps.map((x: { name: string; duration_ms: number }) =>
          `${x.name} ${x.duration_ms}`
        );
        b.note(
          `${subscribers} subscribers: deployed after ${end - started} ms, last end after ${
            s.lastEndAt - started
          } ms; ${steps.join(", ")}`,
        );
      }
      return { ms: end - started, lagMs: s.lastEndAt - end, cpu, subsCpu: s.cpuMs, ...s };
    };
    /** Per row: how long after the answer the last subscriber had its `end`, each round. */
    const lags = new Map<string, { n: number; ms: number[] }>();
    const cpus = new Map<string, number[][]>();
    const lagNote = (metric: string, n: number, lag: number, cpu: number[]) => {
      lags.set(metric, { n, ms: [...(lags.get(metric)?.ms ?? []), lag] });
      cpus.set(metric, [...(cpus.get(metric) ?? []), cpu]);
    };

    if (!b.smoke) {
      b.note("deployments: warming up");
      await ours();
      await peer();
    }

    const P2 = "P2 one deployment (webhook wait=true → deployed), wall time";
    const P7_LINES = b.smoke ? 100 : 2_000;
    const P7_SUBS = b.smoke ? 20 : 500;
    const P7 = `P7 ${P7_LINES.toLocaleString("en-US")} log lines to ${P7_SUBS} SSE subscribers, ` +
      "deployment wall time";
    const BIG = b.smoke ? 2_000 : 20_000;
    const P8 = `${BIG.toLocaleString("en-US")}-line colmena output stored and streamed, ` +
      "deployment wall time";
    for (let round = 1; round <= b.rounds; round++) {
      b.note(`deployments: round ${round}/${b.rounds}`);
      const a: number[] = [];
      const p: number[] = [];
      for (let i = 0; i < (b.smoke ? 1 : 3); i++) {
        a.push(await ours());
        p.push(await peer());
      }
      b.record(
        P2,
        "ms",
        "bench/peers/deploy.sh",
        { kind: "max", ratio: 1.15 },
        median(a),
        median(p),
      );

      const fan = await measured(P7_LINES, false, P7_SUBS);
      const none = await measured(P7_LINES, false, 0);
      b.record(P7, "ms", "no subscribers", { kind: "max", ratio: 1.3 }, fan.ms, none.ms);
      if (fan.complete !== P7_SUBS) {
        throw new Error(
          `P7: ${fan.complete} of ${P7_SUBS} subscribers got every line in order: ${fan.failures}`,
        );
      }
      lagNote(P7, P7_SUBS, fan.lagMs, [fan.cpu, none.cpu, fan.subsCpu]);

      const big = await measured(BIG, false, 1);
      const dropped = await measured(BIG, true, 1);
      b.record(P8, "ms", "output to /dev/null", { kind: "max", ratio: 1.2 }, big.ms, dropped.ms);
      if (big.complete !== 1) throw new Error(`${P8}: the subscriber: ${big.failures}`);
      lagNote(P8, 1, big.lagMs, [big.cpu, dropped.cpu, big.subsCpu]);
    }
    for (const [metric, { n, ms }] of lags) {
      const cpu = (k: number) => Math.round(median(cpus.get(metric)!.map((c) => c[k])));
      const lag = Math.round(median(ms));
      const when = `${Math.abs(lag)} ms ${lag < 0 ? "before" : "after"} the answer (median)`;
      b.noteOn(
        metric,
        `every round: ${n}/${n} subscribers got all lines in order, the last of them ${when}; ` +
          `despacito's CPU during the deployment ${cpu(0)} ms vs ${cpu(1)} ms, ` +
          `the subscribers' process ${cpu(2)} ms in all`,
      );
    }
  } finally {
    await desp.stop();
  }
}
