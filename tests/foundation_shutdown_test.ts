/**
 * Graceful shutdown of the real process: on SIGTERM a request already in
 * flight still gets its answer, no new connection is accepted, and the
 * process exits 0.
 */

import assert from "node:assert/strict";
import { holdReadinessLock } from "./_harness/readiness_lock.ts";
import { spawnServer, waitFor, withServerEnv } from "./_harness/server.ts";

Deno.test("despacito serve: SIGTERM lets an in-flight request finish, then exits 0", async () => {
  await withServerEnv(async ({ env, dbUri }) => {
    const server = await spawnServer({ env });
    const lock = await holdReadinessLock(dbUri);
    try {
      // GET /health/ready stays in its handler (waiting on the database) until released.
      const inFlight = fetch(`${server.url}/health/ready`);
      await lock.waitedOn();

      Deno.kill(server.pid, "SIGTERM");
      await waitFor(
        "shutdown to begin",
        () => server.logs().some((l) => l.msg === "shutting down") || undefined,
      );
      // Shutdown waits for the request: the process is still there.
      assert.equal(server.logs().some((l) => l.msg === "stopped"), false);
      await assert.rejects(fetch(`${server.url}/health`), "no new connections once stopping");

      await lock.release();
      const res = await inFlight;
      // Normally "ready"; on a very slow machine readiness may have given up on the
      // database first (its own 3s limit) — either way the request was answered.
      const body = await res.json();
      if (res.status === 503) assert.match(body.reason, /did not answer/);
      else assert.equal(body.status, "ready");
      assert.equal((await server.exited).code, 0);
      const msgs = server.logs().map((l) => `${l.msg} ${l.path ?? ""}`);
      assert.ok(msgs.indexOf("request /health/ready") < msgs.indexOf("stopped "), msgs.join("\n"));
    } finally {
      await lock.end();
    }
  });
});
