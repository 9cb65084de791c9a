/**
 * The fake `colmena` program: a small simulated fleet at the process
 * boundary, run by deno as the colmena binary despacito is configured with.
 * It speaks the subset of colmena 0.4's CLI despacito uses (read from
 * zhaofengli/colmena: `apply [GOAL] [--on NODES] [options]`, `exec [--on
 * NODES] [-p N] [-v] -- ARGV…`, `eval [-E EXPR] [--instantiate]`,
 * `--version`), with colmena's non-TTY progress format on stderr
 * (`<node, right-aligned> | <text>`, the meta job with an empty label).
 *
 * Each node keeps its "current system" in a file: `apply` sets it from the
 * flake.lock in its working directory (the deployment flake), so a test can
 * ask what each node runs afterwards. The test controls it through
 * control.json (fail/hang/hold/step, failing nodes, failing checks,
 * unreachable nodes, a plan for successive applies). `ansi: true` prints
 * what colmena prints with colours forced (`--color always`): its `console`
 * crate's bold labels, green successes and red failures, tracing's coloured
 * levels, with nix's own lines in between; mode `eval-error` is nix failing
 * to evaluate the hive (its multi-line `error:` trace under the `(...)`
 * label of the several-node evaluation job, then colmena's failure and its
 * `ERROR` summary). Anything off-protocol
 * (an unknown subcommand or flag, a malformed --on) is recorded as a
 * violation and exits 98; two runs at once are recorded as an overlap and
 * exit 97; the harness fails the test on either.
 *
 * Usage (by the harness): `deno run -A fake_colmena_fleet.ts STATE_DIR -- ARGS…`
 */

const [dir, sep, ...args] = Deno.args;
if (!dir || (sep !== "--" && sep !== "--seed")) {
  throw new Error("usage: fake_colmena_fleet.ts STATE_DIR (-- ARGS… | --seed)");
}

interface NodeConf {
  tags: string[];
}
interface NodeState {
  system: string | null;
  /** The locked rev of every input of the flake it was activated from. */
  revs: Record<string, string | null>;
  activations: number;
  /** Every system it ran: a failing node (failNodes) still activates one of these (a rollback). */
  history?: string[];
}
interface ApplyPlan {
  /** For that apply: these nodes fail whatever they activate. */
  failNodes?: string[];
  mode?: string;
}
interface Control {
  mode?: "ok" | "fail" | "hang" | "hold" | "step" | "escape" | "eval-error";
  /** Colours as colmena prints them with `--color always`, and nix's lines between its own. */
  ansi?: boolean;
  /** Lines of nix build output per node before it is built (default: 1 with ansi, else 0). */
  buildLines?: number;
  /** Activating a system these nodes never ran fails (going back to an earlier one works). */
  failNodes?: string[];
  /** command checks (`exec`) fail on these nodes. */
  failExec?: string[];
  unreachable?: string[];
  /** Hold (until `release`) right after this node activated. */
  holdAfter?: string;
  /** Overrides for successive applies: the first entry applies to the next apply, and so on. */
  plan?: ApplyPlan[];
  /** `apply` prints `count` numbered lines on stdout after the build; `discard`: to /dev/null. */
  lines?: { count: number; discard?: boolean };
}

const enc = new TextEncoder();
const readJson = <T>(f: string, fallback: T): T => {
  try {
    return JSON.parse(Deno.readTextFileSync(`${dir}/${f}`));
  } catch {
    return fallback;
  }
};
const writeJson = (f: string, v: unknown) => {
  Deno.writeTextFileSync(`${dir}/${f}.tmp`, JSON.stringify(v));
  Deno.renameSync(`${dir}/${f}.tmp`, `${dir}/${f}`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function violation(why: string): never {
  Deno.writeTextFileSync(`${dir}/violations`, `${JSON.stringify(args)}: ${why}\n`, {
    append: true,
  });
  Deno.stderr.writeSync(enc.encode(`error: ${why}\n`));
  Deno.exit(98);
}

if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  Deno.stdout.writeSync(enc.encode("colmena 0.4.0\n"));
  Deno.exit(0);
}

const nodeFile = (n: string) => `nodes/${n}.json`;
const stateOf = (n: string) =>
  readJson<NodeState>(nodeFile(n), { system: null, revs: {}, activations: 0 });

if (sep === "--seed") {
  // The harness, not despacito: every node runs the flake as it is now.
  const lock = await lockState();
  for (const n of Object.keys(readJson<Record<string, NodeConf>>("fleet.json", {}))) {
    const system = lock.system(n);
    writeJson(nodeFile(n), { system, revs: lock.revs, activations: 0, history: [system] });
  }
  Deno.exit(0);
}

// --- the run record and the overlap check -------------------------------------------
const run = `${dir}/runs/${Date.now()}${String(performance.now() % 1).slice(2, 8)}_${Deno.pid}`;
Deno.mkdirSync(run, { recursive: true });
Deno.writeTextFileSync(`${run}/cwd`, Deno.cwd());
Deno.writeTextFileSync(`${run}/argv`, args.map((a) => `${a}\0`).join(""));
Deno.writeTextFileSync(`${run}/started`, String(Date.now()));
const alive = (pid: string) => {
  try {
    return !/\) Z /.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
};
try {
  const active = Deno.readTextFileSync(`${dir}/active`).trim();
  if (active && alive(active)) {
    Deno.writeTextFileSync(`${dir}/overlap`, `${run} overlaps ${active}\n`, { append: true });
    Deno.exit(97);
  }
} catch { /* none active */ }
Deno.writeTextFileSync(`${dir}/active`, String(Deno.pid));
const end = (code: number): never => {
  Deno.writeTextFileSync(`${run}/ended`, String(Date.now()));
  try {
    if (Deno.readTextFileSync(`${dir}/active`).trim() === String(Deno.pid)) {
      Deno.removeSync(`${dir}/active`);
    }
  } catch { /* gone */ }
  Deno.exit(code);
};

// --- argv, strictly --------------------------------------------------------------------
const GOALS = ["switch", "boot", "test", "dry-activate", "build", "push"];
const SELECTOR_ITEM = /^(@[A-Za-z0-9_.-]+|[A-Za-z0-9_.*-]+)$/;

function parseOn(v: string | undefined): string[] {
  if (!v) violation("--on needs a value");
  const items = v.split(",");
  if (items.some((i) => !SELECTOR_ITEM.test(i))) violation(`malformed --on ${JSON.stringify(v)}`);
  return items;
}

const fleet = readJson<Record<string, NodeConf>>("fleet.json", {});
const control = readJson<Control>("control.json", {});

function select(on: string[] | null): string[] {
  const names = Object.keys(fleet).sort();
  if (on === null) return names;
  return names.filter((n) =>
    on.some((item) =>
      item.startsWith("@")
        ? fleet[n].tags.includes(item.slice(1))
        : new RegExp(`^${item.replace(/[.]/g, "\\.").replace(/\*/g, ".*")}$`).test(n)
    )
  );
}

// step mode: line number i waits until the file "allowed" holds a number >= i.
let printed = 0;
async function gate() {
  if (mode !== "step") return;
  printed++;
  for (;;) {
    const allowed = Number(Deno.readTextFileSync(`${dir}/allowed`).trim() || 0);
    if (allowed >= printed) return;
    await sleep(10);
  }
}
// colmena's `console` crate writes the colour, then bold, the text, a reset; without `ansi`
// nothing is painted and every line is as before.
const ansi = control.ansi === true;
const paint = (codes: number[], text: string) =>
  ansi && codes.length ? `${codes.map((c) => `\x1b[${c}m`).join("")}${text}\x1b[0m` : text;
type Style = "normal" | "ok" | "fail";
async function say(node: string, text: string, style: Style = "normal") {
  await gate();
  const label = paint(
    style === "ok" ? [32, 1] : style === "fail" ? [31, 1] : [1],
    node.padStart(5),
  );
  const body = paint(style === "ok" ? [32] : style === "fail" ? [31] : [], text);
  Deno.stderr.writeSync(enc.encode(`${label} | ${body}\n`));
}
/** colmena's tracing lines (no time, no target): the level right-aligned in five columns. */
async function trace(level: "INFO" | "ERROR", text: string) {
  await gate();
  const l = paint(level === "ERROR" ? [31] : [32], level.padStart(5));
  Deno.stderr.writeSync(enc.encode(`${l} ${text}\n`));
}
async function out(text: string) {
  await gate();
  Deno.stdout.writeSync(enc.encode(`${text}\n`));
}
async function waitRelease() {
  while (true) {
    try {
      Deno.statSync(`${dir}/release`);
      return;
    } catch { /* not yet */ }
    await sleep(20);
  }
}

/** A chatty build (bench/deploy_metrics.ts): the same writes, seen by despacito or not. */
function printLines(o: { count: number; discard?: boolean }) {
  const sink = o.discard ? Deno.openSync("/dev/null", { write: true }) : Deno.stdout;
  for (let i = 1; i <= o.count; i++) sink.writeSync(enc.encode(`bench line ${i} of ${o.count}\n`));
}

async function lockState(): Promise<
  { system: (node: string) => string; revs: Record<string, string | null> }
> {
  let text = "";
  try {
    text = Deno.readTextFileSync(`${Deno.cwd()}/flake.lock`);
  } catch {
    violation("run outside the deployment flake (no flake.lock in the working directory)");
  }
  const lock = JSON.parse(text);
  const revs: Record<string, string | null> = {};
  for (const [name, key] of Object.entries(lock.nodes[lock.root].inputs ?? {})) {
    if (typeof key === "string") revs[name] = lock.nodes[key]?.locked?.rev ?? null;
  }
  // A store-path-like name that changes with the lock: one system per (lock, node).
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(text)));
  const hash = Array.from(digest).map((b) => "0123456789abcdfghijklmnpqrsvwxyz"[b % 32]).join("");
  return { revs, system: (n) => `/nix/store/${hash}-nixos-system-${n}` };
}

/**
 * nix failing to evaluate the hive, as colmena shows it: nix's stderr under the `(...)` label
 * of the one evaluation job for all nodes (nix's own `error:` in bold red), the job's failure,
 * and the summary colmena logs at the end. Exits 1.
 */
async function evalError(nodes: string[]): Promise<never> {
  const nix = (text: string) => say("(...)", text);
  const red = (t: string) => paint([31, 1], t);
  await nix(`${paint([35, 1], "warning:")} Git tree '${Deno.cwd()}' is dirty`);
  await nix(`${red("error:")}`);
  await nix("       … while evaluating the attribute 'config.system.build.toplevel'");
  await nix(
    `         at /nix/store/${
      "2".repeat(32)
    }-source/nixos/modules/system/activation/top-level.nix:71:5:`,
  );
  await nix("       (stack trace truncated; use '--show-trace' to show the full, detailed trace)");
  await nix(
    `       ${red("error:")} The option \`services.nginx.virtualHosts."${
      nodes[0]
    }".root' is used but not defined.`,
  );
  await say("(...)", "Evaluation failed: Child process exited with error code: 1", "fail");
  const list = nodes.length < 3
    ? nodes.join(" and ")
    : `${nodes.slice(0, -1).join(", ")}, and ${nodes[nodes.length - 1]}`;
  await trace("ERROR", `Failed to evaluate ${list} - Last 2 lines of logs:`);
  await trace("ERROR", "  failure) Child process exited with error code: 1");
  return end(1);
}

const [cmd, ...rest] = args;
let mode = control.mode ?? "ok";

if (cmd === "apply") {
  let goal = "switch";
  let on: string[] | null = null;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--on") on = parseOn(rest[++i]);
    else if (a === "-p" || a === "--parallel") {
      if (!/^\d+$/.test(rest[++i] ?? "")) violation(`${a} needs a number`);
    } else if (["-v", "--verbose", "--keep-result", "--no-substitute", "--reboot"].includes(a)) {
      continue;
    } else if (GOALS.includes(a) && i === 0) goal = a;
    else violation(`apply: unexpected argument ${JSON.stringify(a)}`);
  }
  const plan = control.plan ?? [];
  const step = plan.shift();
  if (step) writeJson("control.json", { ...control, plan });
  mode = (step?.mode as Control["mode"]) ?? mode;
  const forced = step?.failNodes ?? [];
  const fails = (n: string) =>
    forced.includes(n) ||
    ((control.failNodes ?? []).includes(n) && !(stateOf(n).history ?? []).includes(lock.system(n)));
  const lock = await lockState();
  const nodes = select(on);
  const failed = new Set<string>();
  if (ansi) await trace("INFO", `Using flake: git+file://${Deno.cwd()}`);
  await say("", "Enumerating nodes...");
  await say("", `${nodes.length} nodes selected.`);
  for (const n of nodes) await say(n, `Evaluating ${n}`);
  if (mode === "fail") {
    await say("", "error: evaluation aborted: something broke in the hive");
    await say("", "Evaluation failed: something broke");
    end(1);
  }
  if (mode === "eval-error") await evalError(nodes);
  // A fixed path, so a test can predict every line (what a node runs is in its state file).
  for (const n of nodes) {
    for (let i = 1; i <= (control.buildLines ?? (ansi ? 1 : 0)); i++) {
      await say(n, `building '/nix/store/${String(i).padStart(32, "1")}-nixos-system-${n}.drv'...`);
    }
    await say(n, `Built "/nix/store/00000000000000000000000000000000-nixos-system-${n}"`, "ok");
  }
  await out("building on stdout");
  if (control.lines) printLines(control.lines);
  if (mode === "hang") {
    await say("", "hanging");
    await sleep(3_600_000);
  }
  if (mode === "hold") {
    await say("", "holding");
    await waitRelease();
  }
  if (mode === "escape") {
    // A grandchild in its own session keeps stdout and stderr open after we exit.
    const escaped = new Deno.Command("setsid", {
      args: ["sleep", "300"],
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    // The test ends it: nothing else will (it left the process group on purpose).
    Deno.writeTextFileSync(`${dir}/escaped`, String(escaped.pid));
    escaped.unref();
  }
  let code = 0;
  for (const n of nodes) {
    await say(n, "Pushing system closure");
    if (control.unreachable?.includes(n)) {
      await say(n, "Push failed: ssh: connect to host: Connection refused", "fail");
      code = 1;
      continue;
    }
    if (ansi) await say(n, `copying 3 paths to ${n}...`);
    await say(n, "Activating system profile");
    if (fails(n)) {
      await say(n, "Activation failed: Child process exited with error code: 4", "fail");
      failed.add(n);
      code = 1;
      continue;
    }
    if (goal === "switch" || goal === "test") {
      const s = stateOf(n);
      const system = lock.system(n);
      writeJson(nodeFile(n), {
        system,
        revs: lock.revs,
        activations: s.activations + 1,
        history: [...new Set([...(s.history ?? []), system])],
      });
    }
    await say(n, goal === "test" ? "Activation successful (test)" : "Activation successful", "ok");
    if (control.holdAfter === n) {
      await say("", "holding");
      await waitRelease();
    }
  }
  if (code === 0) await say("", "All done!", "ok");
  else {
    for (const n of nodes) {
      if (failed.has(n) || control.unreachable?.includes(n)) {
        Deno.stderr.writeSync(
          enc.encode(`[ERROR] Failed to deploy to ${n} - Last 1 lines of logs:\n`),
        );
      }
    }
  }
  end(code);
} else if (cmd === "exec") {
  let on: string[] | null = null;
  let i = 0;
  for (; i < rest.length && rest[i] !== "--"; i++) {
    const a = rest[i];
    if (a === "--on") on = parseOn(rest[++i]);
    else if (a === "-p" || a === "--parallel") {
      if (!/^\d+$/.test(rest[++i] ?? "")) violation(`${a} needs a number`);
    } else if (a === "-v" || a === "--verbose") continue;
    else violation(`exec: unexpected argument ${JSON.stringify(a)} (the command goes after --)`);
  }
  const argv = rest.slice(i + 1);
  if (rest[i] !== "--" || argv.length === 0) violation("exec: no command after --");
  let code = 0;
  for (const n of select(on)) {
    if (control.unreachable?.includes(n)) {
      await say(n, "Failed: ssh: connect to host: Connection refused");
      code = 1;
    } else if (argv.join(" ") === "readlink /run/current-system") {
      await say(n, stateOf(n).system ?? "/nix/store/00000000000000000000000000000000-unknown");
    } else if (control.failExec?.includes(n)) {
      await say(n, `${argv[0]}: inactive`);
      await say(n, "Failed: Child process exited with error code: 3");
      code = 1;
    } else await say(n, `${argv[0]}: active`);
  }
  end(code);
} else if (cmd === "eval") {
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "-E") {
      if (!rest[++i]) violation("-E needs an expression");
    } else if (rest[i] !== "--instantiate") violation(`eval: unexpected ${rest[i]}`);
  }
  const lock = await lockState();
  const result = Object.fromEntries(
    Object.keys(fleet).sort().map((n) => [n, { tags: fleet[n].tags, toplevel: lock.system(n) }]),
  );
  Deno.stdout.writeSync(enc.encode(JSON.stringify(result) + "\n"));
  end(0);
} else {
  violation(`unknown subcommand ${JSON.stringify(cmd)}`);
}
