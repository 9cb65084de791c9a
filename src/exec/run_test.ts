import assert from "node:assert/strict";
import { collectLines, runChecked, runProcess, type Stream } from "./run.ts";
import { childEnv } from "./env.ts";

Deno.test("runProcess() streams lines in order and returns the exit code", async () => {
  const lines: string[] = [];
  const r = await runProcess(["sh", "-c", "echo one; echo two >&2; printf three; exit 3"], {
    onLine: (s, l) => lines.push(`${s}:${l}`),
  });
  assert.equal(r.code, 3);
  assert.equal(r.stdout, "one\nthree");
  assert.deepEqual(lines.filter((l) => l.startsWith("stdout")), ["stdout:one", "stdout:three"]);
  assert.deepEqual(lines.filter((l) => l.startsWith("stderr")), ["stderr:two"]);
});

Deno.test("runProcess() passes argv without a shell", async () => {
  const r = await runProcess(["printf", "%s|", "a b", "$HOME", ";rm -rf /"]);
  assert.equal(r.stdout, "a b|$HOME|;rm -rf /|");
});

/** A unique `sleep` duration marks processes so pgrep can find exactly ours. */
const uniqueSleep = () => `300.${String(Math.random()).slice(2, 12)}`;

/** A leader that is killed directly and a detached-output grandchild only a group kill reaches. */
const groupScript = (secs: string) => `sleep ${secs} >/dev/null 2>&1 & exec sleep ${secs}`;

Deno.test("runProcess() kills the whole process group on timeout", async () => {
  const secs = uniqueSleep();
  const r = await runProcess(["sh", "-c", groupScript(secs)], { timeoutMs: 200, killGraceMs: 200 });
  assert.equal(r.timedOut, true);
  assert.notEqual(r.code, 0);
  const left = await runProcess(["pgrep", "-f", `sleep ${secs}`]);
  assert.equal(left.stdout, "", "no process of the group survives");
});

/** The child's own pid and its process group id, as the child sees them. */
const PID_AND_GROUP = ["sh", "-c", "echo $$ $(cut -d' ' -f5 /proc/$$/stat)"];

Deno.test("runProcess() starts a program as the leader of its own process group by default", async () => {
  const [pid, pgid] = (await runProcess(PID_AND_GROUP)).stdout.trim().split(" ");
  assert.equal(pgid, pid);
});

Deno.test("runProcess() with ownGroup false runs the program in this process's group, and a timeout still ends it", async () => {
  const [pid, pgid] = (await runProcess(PID_AND_GROUP, { ownGroup: false })).stdout.trim()
    .split(" ");
  assert.notEqual(pgid, pid, "no session of its own (no fork of this process to set it up)");
  const r = await runProcess(["sleep", uniqueSleep()], {
    ownGroup: false,
    timeoutMs: 100,
    killGraceMs: 100,
  });
  assert.equal(r.timedOut, true);
  assert.equal(r.signal, "SIGTERM");
});

Deno.test("runProcess() ends the child when the signal aborts", async () => {
  const ac = new AbortController();
  const p = runProcess(["sh", "-c", "echo started; sleep 300"], {
    signal: ac.signal,
    onLine: (_s, l) => l === "started" && ac.abort(),
  });
  const r = await p;
  assert.equal(r.cancelled, true);
  assert.equal(r.signal, "SIGTERM");
});

Deno.test("runChecked() throws with the stderr tail on failure", async () => {
  await assert.rejects(
    () => runChecked(runProcess, ["sh", "-c", "echo boom >&2; exit 1"]),
    /exited with 1: boom/,
  );
});

Deno.test("runProcess() kills the whole group under the production --allow-run list too", async () => {
  // Production grants --allow-run for named programs only, where Deno.kill of a
  // group is refused; a child deno with such a list must still leave nothing behind.
  const secs = uniqueSleep();
  const script = `
    import { runProcess } from ${JSON.stringify(new URL("./run.ts", import.meta.url).href)};
    const r = await runProcess(["sh", "-c", ${JSON.stringify(groupScript(secs))}], {
      timeoutMs: 300,
      killGraceMs: 300,
    });
    console.log(JSON.stringify({ timedOut: r.timedOut }));
  `;
  // `deno run`, not `deno eval`: eval grants every permission whatever its flags say.
  const file = await Deno.makeTempFile({ prefix: "despacito-exec-", suffix: ".ts" });
  await Deno.writeTextFile(file, script);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-run=sh,kill", file],
    stdout: "piped",
    stderr: "piped",
  }).output().finally(() => Deno.remove(file));
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), { timedOut: true });
  const left = await runProcess(["pgrep", "-f", `sleep ${secs}`]);
  assert.equal(left.stdout, "", "no process of the group survives");
});

Deno.test("runProcess() passes children only the allowlisted environment", async () => {
  const r = await runProcess(["env"], {
    baseEnv: childEnv(["EXTRA_ONE", "DESPACITO_SNEAKY", "PGPASSWORD"]),
  });
  const names = r.stdout.trim().split("\n").map((l) => l.split("=")[0]);
  assert.ok(names.includes("PATH"), "PATH is passed on");
  assert.ok(!names.some((n) => n.startsWith("DESPACITO_") || n.startsWith("PG")), names.join(" "));
});

Deno.test("childEnv() keeps DESPACITO_* and PG* out even when named, and honours extra names", () => {
  Deno.env.set("DESPACITO_POSTGRES_CONNECTION_URI", "postgres://u:secret@db/x");
  Deno.env.set("PGPASSWORD", "secret");
  Deno.env.set("EXTRA_ONE", "yes");
  try {
    const env = childEnv(["EXTRA_ONE", "DESPACITO_POSTGRES_CONNECTION_URI", "PGPASSWORD"]);
    assert.equal(env.EXTRA_ONE, "yes");
    assert.equal(env.DESPACITO_POSTGRES_CONNECTION_URI, undefined);
    assert.equal(env.PGPASSWORD, undefined);
    assert.equal(childEnv().EXTRA_ONE, undefined, "not passed on unless named");
  } finally {
    for (const k of ["DESPACITO_POSTGRES_CONNECTION_URI", "PGPASSWORD", "EXTRA_ONE"]) {
      Deno.env.delete(k);
    }
  }
});

Deno.test("runProcess(): the exit status decides; a grandchild holding stdout is not waited for", async () => {
  const secs = uniqueSleep();
  const started = performance.now();
  // setsid: the grandchild leaves the process group, so no group kill reaches it.
  const r = await runProcess(["sh", "-c", `echo done; setsid sleep ${secs} & exit 0`], {
    drainMs: 300,
  });
  const took = performance.now() - started;
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "done\n");
  assert.ok(took < 5_000, `returned after ${Math.round(took)} ms`);
  await runProcess(["pkill", "-f", `sleep ${secs}`]);
});

/** A pipe that delivers exactly these reads (byte chunks). */
function pipeOf(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return ReadableStream.from(chunks.map((c) => typeof c === "string" ? enc.encode(c) : c));
}

async function linesOf(chunks: (string | Uint8Array)[]) {
  const lines: string[] = [];
  const c = collectLines(pipeOf(chunks), "stdout", (s: Stream, l) => lines.push(`${s}:${l}`));
  await c.done;
  const all = await c.stop();
  return { lines, all };
}

Deno.test("collectLines() joins a line split across reads, once, in order", async () => {
  const { lines, all } = await linesOf(["one\ntw", "o", "\nthr", "ee\nfour\n"]);
  assert.deepEqual(lines, ["stdout:one", "stdout:two", "stdout:three", "stdout:four"]);
  assert.equal(all, "one\ntwo\nthree\nfour\n");
});

Deno.test("collectLines() decodes a multi-byte character split across reads", async () => {
  const bytes = new TextEncoder().encode("café ✓ done\n");
  // "é" is two bytes and "✓" three: cut inside each.
  const e = bytes.indexOf(0xc3) + 1;
  const check = bytes.indexOf(0xe2) + 2;
  const { lines } = await linesOf([bytes.slice(0, e), bytes.slice(e, check), bytes.slice(check)]);
  assert.deepEqual(lines, ["stdout:café ✓ done"]);
});

Deno.test("collectLines() ends lines at CRLF, also when CR and LF arrive in different reads", async () => {
  const { lines } = await linesOf(["a\r\nb\r", "\nc\r\r\n", "\r\n", "d\n"]);
  // Only the CR of CRLF goes; a lone CR stays part of the line, as before.
  assert.deepEqual(lines, ["stdout:a", "stdout:b", "stdout:c\r", "stdout:", "stdout:d"]);
});

Deno.test("collectLines() hands over a last line without a newline, and keeps empty lines", async () => {
  const { lines, all } = await linesOf(["\n\nlast", " one"]);
  assert.deepEqual(lines, ["stdout:", "stdout:", "stdout:last one"]);
  assert.equal(all, "\n\nlast one");
});

Deno.test("collectLines() of a chatty program: many short reads, every line once and in order", async () => {
  // More reads than CHATTY_READS, so the pauses between short reads are taken too.
  const chunks = Array.from({ length: 60 }, (_, i) => `line ${i}\npart`);
  const { lines } = await linesOf(chunks);
  assert.deepEqual(lines, [
    "stdout:line 0",
    ...Array.from({ length: 59 }, (_, i) => `stdout:partline ${i + 1}`),
    "stdout:part",
  ]);
});

Deno.test("runProcess() keeps stdout and stderr apart, each in order, for a program printing 20,000 lines", async () => {
  const lines: string[] = [];
  const r = await runProcess(
    ["sh", "-c", 'i=0; while [ $i -lt 20000 ]; do echo "out $i"; i=$((i+1)); done; echo err >&2'],
    { onLine: (s, l) => lines.push(`${s}:${l}`) },
  );
  assert.equal(r.code, 0);
  const out = lines.filter((l) => l.startsWith("stdout:"));
  assert.deepEqual(out, Array.from({ length: 20_000 }, (_, i) => `stdout:out ${i}`));
  assert.deepEqual(lines.filter((l) => l.startsWith("stderr:")), ["stderr:err"]);
});
