/**
 * A fake `colmena` at the process boundary: a bash script that records each
 * run (argv, cwd, start and end time), prints colmena's non-TTY progress
 * format (`<node, right-aligned> | <text>` on stderr, the meta job with an
 * empty label) and can be told to succeed, fail, fail one node, hang, hold
 * until released, or step: print each line only once the test allowed it
 * (`allowLines(n)`), so a test sees line n arrive before line n+1 exists.
 * Two overlapping runs are a bug in despacito: the
 * script records the overlap and exits 97, and `assertNoOverlap()` fails the
 * test.
 */

import assert from "node:assert/strict";

const SCRIPT = `#!/usr/bin/env bash
set -u
D="$(dirname "$(readlink -f "$0")")"
run="$D/runs/$(date +%s%N)_$$"
mkdir -p "$run"
printf '%s' "$PWD" > "$run/cwd"
for a in "$@"; do printf '%s\\0' "$a"; done > "$run/argv"
date +%s%3N > "$run/started"
# A zombie (killed, not yet reaped by init) is not a running colmena.
alive() { [ -r "/proc/$1/stat" ] && ! grep -q ') Z ' "/proc/$1/stat"; }
if [ -f "$D/active" ] && alive "$(cat "$D/active")"; then
  echo "$run overlaps $(cat "$D/active")" >> "$D/overlap"
  exit 97
fi
echo $$ > "$D/active"
mode=$(cat "$D/mode" 2>/dev/null || echo ok)
nodes=$(cat "$D/nodes" 2>/dev/null || echo "alpha beta")
failnode=$(cat "$D/failnode" 2>/dev/null || true)
# step mode: line number i waits until the file "allowed" holds a number >= i.
printed=0
gate() {
  [ "$mode" = step ] || return 0
  printed=$((printed + 1))
  while :; do
    allowed=$(cat "$D/allowed" 2>/dev/null)
    [ "\${allowed:-0}" -ge "$printed" ] 2>/dev/null && return 0
    sleep 0.01
  done
}
say() { gate; printf '%5s | %s\\n' "$1" "$2" >&2; }
say "" "Enumerating nodes..."
say "" "2 nodes selected."
for n in $nodes; do say "$n" "Evaluating $n"; done
for n in $nodes; do say "$n" "Built \\"/nix/store/00000000000000000000000000000000-nixos-system-$n\\""; done
gate; echo "building on stdout"
case "$mode" in
  hang) say "" "hanging"; exec sleep 3600 ;;
  hold) say "" "holding"; while [ ! -f "$D/release" ]; do sleep 0.02; done ;;
esac
code=0
for n in $nodes; do
  say "$n" "Pushing system closure"
  say "$n" "Activating system profile"
  if [ "$n" = "$failnode" ]; then
    say "$n" "Activation failed: Child process exited with error code: 4"
    code=1
  else
    say "$n" "Activation successful"
  fi
done
if [ "$mode" = fail ]; then say "" "Evaluation failed: something broke"; code=1; fi
if [ "$code" = 0 ]; then say "" "All done!"; else
  for n in $nodes; do [ "$n" = "$failnode" ] && echo "[ERROR] Failed to deploy to $n - Last 1 lines of logs:" >&2; done
fi
date +%s%3N > "$run/ended"
rm -f "$D/active"
exit $code
`;

export interface FakeRun {
  argv: string[];
  cwd: string;
  startedAt: number;
  endedAt: number | null;
}

export interface FakeColmena {
  bin: string;
  dir: string;
  set(
    o: {
      mode?: "ok" | "fail" | "hang" | "hold" | "step";
      failNode?: string;
      nodes?: string[];
    },
  ): Promise<void>;
  release(): Promise<void>;
  /** Step mode: lets the running colmena print its first `n` lines (of this run). */
  allowLines(n: number): Promise<void>;
  runs(): Promise<FakeRun[]>;
  /** Polls the recorded runs until `pred` holds or the deadline passes. */
  waitFor(pred: (runs: FakeRun[]) => boolean, what: string, timeoutMs?: number): Promise<FakeRun[]>;
  assertNoOverlap(): Promise<void>;
}

export async function createFakeColmena(root: string): Promise<FakeColmena> {
  const dir = `${root}/fake-colmena`;
  await Deno.mkdir(`${dir}/runs`, { recursive: true });
  const bin = `${dir}/colmena`;
  await Deno.writeTextFile(bin, SCRIPT, { mode: 0o755 });
  const write = (f: string, v: string) => Deno.writeTextFile(`${dir}/${f}`, v);
  const fake: FakeColmena = {
    bin,
    dir,
    async set(o) {
      if (o.mode) await write("mode", o.mode);
      if (o.mode === "step") await fake.allowLines(0);
      if (o.failNode !== undefined) await write("failnode", o.failNode);
      if (o.nodes) await write("nodes", o.nodes.join(" "));
    },
    release: () => write("release", ""),
    async allowLines(n) {
      // Renamed into place: the script never reads a half-written number.
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
    async assertNoOverlap() {
      const overlap = await Deno.readTextFile(`${dir}/overlap`).catch(() => "");
      assert.equal(overlap, "", `two colmena runs overlapped:\n${overlap}`);
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
    say("", "2 nodes selected."),
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
