/**
 * Graceful shutdown of the real process: on SIGTERM a request already in
 * flight still gets its answer, no new connection is accepted, and the
 * process exits 0.
 */

import assert from "node:assert/strict";
import postgres from "postgres";
import { spawnServer, waitFor, withServerEnv } from "./_harness/server.ts";

Deno.test("despacito serve: SIGTERM lets an in-flight request finish, then exits 0", async () => {
  await withServerEnv(async ({ env, dbUri }) => {
    const blocker = postgres(dbUri, { max: 1, onnotice: () => {} });
    const observer = postgres(dbUri, { max: 1, onnotice: () => {} });
    try {
      const server = await spawnServer({ env });
      // Hold a lock the readiness query needs, so GET /health/ready stays in its
      // handler (waiting on the database) for as long as the test wants.
      const locked = Promise.withResolvers<void>();
      const release = Promise.withResolvers<void>();
      const holder = blocker.begin(async (tx) => {
        await tx`lock table schema_migrations in access exclusive mode`;
        locked.resolve();
        await release.promise;
      });
      await locked.promise;
      const inFlight = fetch(`${server.url}/health/ready`);
      await waitFor("the readiness query to wait on the lock", async () => {
        const [{ waiting }] = await observer<{ waiting: number }[]>`
        select count(*)::int as waiting from pg_locks l join pg_class c on c.oid = l.relation
        where c.relname = 'schema_migrations' and not l.granted`;
        return waiting > 0 ? true : undefined;
      });

      Deno.kill(server.pid, "SIGTERM");
      await waitFor(
        "shutdown to begin",
        () => server.logs().some((l) => l.msg === "shutting down") || undefined,
      );
      // Shutdown waits for the request: the process is still there.
      assert.equal(server.logs().some((l) => l.msg === "stopped"), false);
      await assert.rejects(fetch(`${server.url}/health`), "no new connections once stopping");

      release.resolve();
      await holder;
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
      await blocker.end();
      await observer.end();
    }
  });
});
