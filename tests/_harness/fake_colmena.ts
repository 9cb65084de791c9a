/**
 * The fake `colmena` at the process boundary: a small simulated fleet
 * (fake_colmena_fleet.ts, run by deno) with per-node "current system"
 * state, colmena's CLI and output format, and strict argv. This module is
 * the test's side: configure the fleet and what should go wrong, read what
 * each node runs, and `assertNoOverlap()` — which fails the test when two
 * runs overlapped or any run was off-protocol. `--version` probes are not
 * runs. Step mode prints each line only once the test allowed it
 * (`allowLines(n)`), so a test sees line n arrive before line n+1 exists.
 * `ansi: true` prints colmena's colours (as with `--color always`) and
 * nix's lines between its own; `buildLines` makes a long log; mode
 * `eval-error` is nix failing to evaluate the hive.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const FLEET = fileURLToPath(new URL("./fake_colmena_fleet.ts", import.meta.url));

export interface NodeState {
  system: string | null;
  revs: Record<string, string | null>;
  activations: number;
  history?: string[];
}

export interface FleetControl {
  /** eval-error: nix fails to evaluate the hive (a multi-line `error:` trace, then colmena's summary). */
  mode?: "ok" | "fail" | "hang" | "hold" | "step" | "escape" | "eval-error";
  /** Print as colmena does with `--color always`: ANSI colours, and nix's lines between its own. */
  ansi?: boolean;
  /** Lines of nix build output per node before it is built (default: 1 with ansi, else 0). */
  buildLines?: number;
  /** Activating a new system fails on this node ("" for none); shorthand for failNodes. */
  failNode?: string;
  /** Activating a system they never ran fails on these nodes; going back still works. */
  failNodes?: string[];
  /** The fleet: names, or names with their tags. Default alpha and beta, tagged web. */
  nodes?: string[] | Record<string, string[]>;
  /** `colmena exec` (command checks) fails on these nodes. */
  failExec?: string[];
  unreachable?: string[];
  holdAfter?: string;
  /** Per-apply overrides, consumed in order (e.g. the rollback's apply fails). */
  plan?: { failNodes?: string[]; mode?: string }[];
  /** `apply` prints `count` numbered lines ("bench line i of N") after the build; `discard`: to /dev/null. */
  lines?: { count: number; discard?: boolean };
}

export interface FakeRun {
  argv: string[];
  cwd: string;
  startedAt: number;
  endedAt: number | null;
}

export interface FakeColmena {
  bin: string;
  dir: string;
  set(o: FleetControl): Promise<void>;
  release(): Promise<void>;
  /** Step mode: lets the running colmena print its first `n` lines (of this run). */
  allowLines(n: number): Promise<void>;
  runs(): Promise<FakeRun[]>;
  /** Polls the recorded runs until `pred` holds or the deadline passes. */
  waitFor(pred: (runs: FakeRun[]) => boolean, what: string, timeoutMs?: number): Promise<FakeRun[]>;
  /** What a node runs now (undefined: never activated). */
  node(name: string): Promise<NodeState | undefined>;
  /** Every node runs the flake in `flakeDir` as it is now (the fleet before any deployment). */
  seed(flakeDir: string): Promise<void>;
  /** Changes what a node runs behind despacito's back (someone ran nixos-rebuild). */
  drift(name: string, system: string): Promise<void>;
  /** Fails the test on overlapping runs or any off-protocol argv. */
  assertNoOverlap(): Promise<void>;
}

export async function createFakeColmena(root: string): Promise<FakeColmena> {
  const dir = `${root}/fake-colmena`;
  await Deno.mkdir(`${dir}/runs`, { recursive: true });
  await Deno.mkdir(`${dir}/nodes`, { recursive: true });
  const bin = `${dir}/colmena`;
  await Deno.writeTextFile(
    bin,
    `#!/bin/sh\nexec ${JSON.stringify(Deno.execPath())} run -A --no-config --no-lock --quiet ${
      JSON.stringify(FLEET)
    } ${JSON.stringify(dir)} -- "$@"\n`,
    { mode: 0o755 },
  );
  const write = (f: string, v: string) => Deno.writeTextFile(`${dir}/${f}`, v);
  const writeJson = async (f: string, v: unknown) => {
    await write(`${f}.tmp`, JSON.stringify(v));
    await Deno.rename(`${dir}/${f}.tmp`, `${dir}/${f}`);
  };
  const readJson = async <T>(f: string, fallback: T): Promise<T> => {
    try {
      return JSON.parse(await Deno.readTextFile(`${dir}/${f}`));
    } catch {
      return fallback;
    }
  };
  await writeJson("fleet.json", { alpha: { tags: ["web"] }, beta: { tags: ["web"] } });
  const fake: FakeColmena = {
    bin,
    dir,
    async set(o) {
      const control = await readJson<Record<string, unknown>>("control.json", {});
      const { nodes, failNode, ...rest } = o;
      if (failNode !== undefined) control.failNodes = failNode ? [failNode] : [];
      Object.assign(control, rest);
      await writeJson("control.json", control);
      if (o.mode === "step") await fake.allowLines(0);
      if (nodes) {
        const fleet = Array.isArray(nodes)
          ? Object.fromEntries(nodes.map((n) => [n, { tags: ["web"] }]))
          : Object.fromEntries(Object.entries(nodes).map(([n, tags]) => [n, { tags }]));
        await writeJson("fleet.json", fleet);
      }
    },
    release: () => write("release", ""),
    async allowLines(n) {
      // Renamed into place: the fleet never reads a half-written number.
      await write("allowed.tmp", String(n));
      await Deno.rename(`${dir}/allowed.tmp`, `${dir}/allowed`);
    },
    async runs() {
      const out: FakeRun[] = [];
      const names = [];
      for await (const e of Deno.readDir(`${dir}/runs`)) names.push(e.name);
      for (const n of names.sort()) {
        const p = `${dir}/runs/${n}`;
        const read = (f: string) => Deno.readTextFile(`${p}/${f}`).catch(() => null);
        const argv = await read("argv");
        const started = await read("started");
        if (argv === null || started === null) continue;
        const ended = await read("ended");
        out.push({
          argv: argv.split("\0").slice(0, -1),
          cwd: (await read("cwd")) ?? "",
          startedAt: Number(started),
          endedAt: ended === null ? null : Number(ended),
        });
      }
      return out;
    },
    async waitFor(pred, what, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const runs = await fake.runs();
        if (pred(runs)) return runs;
        if (Date.now() > deadline) throw new Error(`fake colmena: timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    node: (name) => readJson<NodeState | undefined>(`nodes/${name}.json`, undefined),
    async seed(flakeDir) {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-config", "--no-lock", "--quiet", FLEET, dir, "--seed"],
        cwd: flakeDir,
        stderr: "piped",
      }).output();
      assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    },
    async drift(name, system) {
      const s = await readJson<NodeState>(`nodes/${name}.json`, {
        system: null,
        revs: {},
        activations: 0,
      });
      await writeJson(`nodes/${name}.json`, { ...s, system });
    },
    async assertNoOverlap() {
      const overlap = await Deno.readTextFile(`${dir}/overlap`).catch(() => "");
      assert.equal(overlap, "", `two colmena runs overlapped:\n${overlap}`);
      const violations = await Deno.readTextFile(`${dir}/violations`).catch(() => "");
      assert.equal(violations, "", `colmena was called off-protocol:\n${violations}`);
      const runs = await fake.runs();
      for (let i = 1; i < runs.length; i++) {
        const prev = runs[i - 1];
        if (prev.endedAt !== null) {
          assert.ok(prev.endedAt <= runs[i].startedAt, "colmena runs overlapped in time");
        }
      }
    },
  };
  return fake;
}

/** The lines a successful run prints, in order (stdout and stderr as despacito captures them). */
export function successLines(nodes: string[] = ["alpha", "beta"]): string[] {
  const say = (node: string, text: string) => `${node.padStart(5)} | ${text}`;
  return [
    say("", "Enumerating nodes..."),
    say("", `${nodes.length} nodes selected.`),
    ...nodes.map((n) => say(n, `Evaluating ${n}`)),
    ...nodes.map((n) =>
      say(n, `Built "/nix/store/00000000000000000000000000000000-nixos-system-${n}"`)
    ),
    "building on stdout",
    ...nodes.flatMap((n) => [
      say(n, "Pushing system closure"),
      say(n, "Activating system profile"),
      say(n, "Activation successful"),
    ]),
    say("", "All done!"),
  ];
}
