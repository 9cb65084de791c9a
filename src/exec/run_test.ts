import assert from "node:assert/strict";
import { runChecked, runProcess } from "./run.ts";

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

Deno.test("runProcess() kills the whole process group on timeout", async () => {
  const marker = `despacito-test-${crypto.randomUUID()}`;
  const r = await runProcess(["sh", "-c", `sleep 300 & exec -a ${marker} sleep 300`], {
    timeoutMs: 200,
    killGraceMs: 200,
  });
  assert.equal(r.timedOut, true);
  assert.notEqual(r.code, 0);
  const left = await runProcess(["pgrep", "-f", marker]);
  assert.equal(left.stdout, "");
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
