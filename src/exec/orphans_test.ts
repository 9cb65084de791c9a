import assert from "node:assert/strict";
import { silentLogger } from "../log/log.ts";
import { createGroupGuard } from "./orphans.ts";
import { runProcess } from "./run.ts";

const uniqueSleep = () => `300.${String(Math.random()).slice(2, 12)}`;

async function alive(secs: string): Promise<boolean> {
  return (await runProcess(["pgrep", "-f", `sleep ${secs}`])).stdout.trim() !== "";
}

Deno.test("createGroupGuard().reap() ends a group left by a dead parent, and only then returns", async () => {
  const dir = await Deno.makeTempDir();
  const secs = uniqueSleep();
  try {
    const guard = createGroupGuard({
      file: `${dir}/colmena.pgid`,
      log: silentLogger,
      graceMs: 500,
    });
    // A leader and a child in a new session, as runProcess starts colmena; nobody waits for it.
    const child = new Deno.Command("setsid", {
      args: ["sh", "-c", `sleep ${secs} & exec sleep ${secs}`],
      stdout: "null",
      stderr: "null",
    }).spawn();
    await guard.record(child.pid);
    assert.equal(await alive(secs), true);
    assert.equal(await guard.reap(), "ended");
    assert.equal(await alive(secs), false, "no process of the group survives");
    await child.status;
    assert.equal(await guard.reap(), "none", "the record is gone");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createGroupGuard().reap() never signals a process that merely reuses the pid", async () => {
  const dir = await Deno.makeTempDir();
  const secs = uniqueSleep();
  const child = new Deno.Command("setsid", {
    args: ["sleep", secs],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const file = `${dir}/colmena.pgid`;
    // A record of the same pid with another start time: not ours.
    await Deno.writeTextFile(
      file,
      JSON.stringify({ pgid: child.pid, started: "Thu Jan  1 00:00:00 1970" }),
    );
    const guard = createGroupGuard({ file, log: silentLogger });
    assert.equal(await guard.reap(), "gone");
    assert.equal(await alive(secs), true, "the unrelated process lives");
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createGroupGuard(): a record holds the time despacito started the leader; reap() compares the leader's age with it", async () => {
  const dir = await Deno.makeTempDir();
  const ours = uniqueSleep();
  const other = uniqueSleep();
  const start = (secs: string) =>
    new Deno.Command("setsid", { args: ["sleep", secs], stdout: "null", stderr: "null" }).spawn();
  const leader = start(ours);
  const stranger = start(other);
  try {
    const file = `${dir}/colmena.pgid`;
    const guard = createGroupGuard({ file, log: silentLogger, graceMs: 500 });
    await guard.record(leader.pid);
    const rec = JSON.parse(await Deno.readTextFile(file));
    assert.deepEqual(Object.keys(rec).sort(), ["pgid", "spawnedAt"]);
    assert.ok(Math.abs(rec.spawnedAt - Date.now()) < 5_000, JSON.stringify(rec));
    // The same pid started a minute before the recorded time: another process, left alone.
    await Deno.writeTextFile(
      file,
      JSON.stringify({ pgid: stranger.pid, spawnedAt: Date.now() + 60_000 }),
    );
    assert.equal(await guard.reap(), "gone");
    assert.equal(await alive(other), true, "the unrelated process lives");
    // The leader, recorded as started now: ended.
    await Deno.writeTextFile(file, JSON.stringify({ pgid: leader.pid, spawnedAt: Date.now() }));
    assert.equal(await guard.reap(), "ended");
    assert.equal(await alive(ours), false);
  } finally {
    for (const p of [leader, stranger]) {
      try {
        p.kill("SIGKILL");
      } catch { /* ended by the reap */ }
    }
    await Promise.all([leader.status, stranger.status]);
    await Deno.remove(dir, { recursive: true });
  }
});
