/**
 * The batched writers against real PostgreSQL: the deployment journal
 * (many lines per statement) keeps every line, in order, on a gap-free
 * per-deployment sequence, and publishes them in that order; enqueue's
 * single round trip still numbers the queued and superseded entries
 * without a gap and stores each status snapshot as served; a deleted
 * deployment takes its lines with it.
 */

import assert from "node:assert/strict";
import { createBus } from "../src/events/bus.ts";
import { silentLogger } from "../src/log/log.ts";
import { BATCH_MAX, createJournal } from "../src/deploy/journal.ts";
import { deployWrites } from "../src/deploy/writes.ts";
import { type DeployEvent, enqueue, getDeployment, logEntries } from "../src/deploy/store.ts";
import { deploymentJson } from "../src/deploy/deployment.ts";
import { withMigratedDatabase } from "./_harness/postgres.ts";

const STORE_PATH = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-webapp-1.1.0";
const trigger = { kind: "token" as const, id: "t1", label: "ci" };

Deno.test("journal batches: every line stored and published once, in order, seq gap-free", async () => {
  await withMigratedDatabase(async (sql) => {
    const bus = createBus<DeployEvent>();
    const seen: DeployEvent[] = [];
    bus.subscribe((e) => seen.push(e));

    const first = await enqueue(sql, {
      package: "webapp",
      version: "1.0.0",
      nixStorePath: STORE_PATH,
      flakeRef: null,
      trigger,
    });
    assert.equal(first.outcome, "queued");
    const id = first.deployment.id;
    assert.deepEqual(first.events.map((e) => [e.type, e.seq]), [["log", 1], ["status", 2]]);

    const journal = createJournal({
      writes: deployWrites(sql, bus),
      deploymentId: id,
      log: silentLogger,
    });
    const written: string[] = [];
    const n = BATCH_MAX * 2 + 37;
    for (let i = 0; i < n; i++) {
      const line = i === 5 ? "a NUL \u0000 here" : `line ${i} "quoted", {braced} \\ back`;
      written.push(line.replaceAll("\u0000", "\uFFFD"));
      journal.write(i % 3 === 0 ? "stderr" : "stdout", line);
      // Some lines arrive while a batch is being stored.
      if (i === 1400) await new Promise((r) => setTimeout(r, 20));
    }
    await journal.flush();

    const stored = await logEntries(sql, id, 2, 5000);
    assert.deepEqual(stored.map((e) => e.seq), written.map((_, i) => i + 3));
    assert.deepEqual(stored.map((e) => e.line), written);
    assert.deepEqual(
      stored.map((e) => e.stream),
      written.map((_, i) => i % 3 ? "stdout" : "stderr"),
    );
    const published = seen.filter((e) => e.type === "log");
    assert.deepEqual(published.map((e) => e.seq), written.map((_, i) => i + 3));
    // What SSE sends live is what a resume reads back.
    assert.deepEqual(
      published.map((e) => e.type === "log" && e.at.getTime()),
      stored.map((e) => e.at.getTime()),
    );

    // A newer version supersedes the queued one; both sequences stay gap-free.
    const second = await enqueue(sql, {
      package: "webapp",
      version: "1.1.0",
      nixStorePath: STORE_PATH,
      flakeRef: null,
      trigger,
    });
    assert.equal(second.outcome, "queued");
    if (second.outcome !== "queued") return;
    assert.deepEqual(second.superseded.map((d) => d.id), [id]);
    const tail = await logEntries(sql, id, n + 2, 10);
    assert.deepEqual(tail.map((e) => [e.seq, e.stream]), [[n + 3, "system"], [n + 4, "status"]]);
    assert.match(tail[0].line, /^superseded by 1\.1\.0 /);
    // Each status entry is the deployment's JSON as served, at that moment (built in SQL).
    assert.deepEqual(tail[1].data, { ...deploymentJson(second.superseded[0]), seq: n + 4 });
    const fresh2 = await logEntries(sql, second.deployment.id);
    assert.deepEqual(fresh2.map((e) => [e.seq, e.stream]), [[1, "system"], [2, "status"]]);
    assert.deepEqual(fresh2[1].data, { ...deploymentJson(second.deployment), seq: 2 });
    // The answered row (built by the caller, arrival and created_at from the database) is the
    // stored one, as is each superseded row.
    assert.deepEqual(second.deployment, await getDeployment(sql, second.deployment.id));
    assert.deepEqual(second.superseded[0], await getDeployment(sql, id));
    // The published events carry what was stored.
    assert.deepEqual(
      second.events.filter((e) => e.type === "log").map((e) => [e.deploymentId, e.seq, e.at]),
      [[second.deployment.id, 1, fresh2[0].at], [id, n + 3, tail[0].at]],
    );

    // A repeat of a live version is answered without a new row.
    const again = await enqueue(sql, {
      package: "webapp",
      version: "1.1.0",
      nixStorePath: STORE_PATH,
      flakeRef: null,
      trigger,
    });
    assert.equal(again.outcome, "in_progress");
    assert.deepEqual(again.deployment, {
      id: second.deployment.id,
      package: "webapp",
      version: "1.1.0",
      kind: "deploy",
      status: "queued",
    });

    // No foreign key on the log (migration 0018), yet deleting a deployment deletes its lines.
    await sql`delete from deployments where id = ${id}`;
    assert.equal((await logEntries(sql, id)).length, 0);
    assert.equal((await logEntries(sql, second.deployment.id)).length, 2, "others stay");
  });
});

Deno.test("enqueue: a superseded row is answered as stored, and the new row's status entry as served", async () => {
  await withMigratedDatabase(async (sql) => {
    const req = { package: "api", nixStorePath: STORE_PATH, flakeRef: null, trigger };
    const first = await enqueue(sql, { ...req, version: "1.0.0" });
    assert.equal(first.outcome, "queued");
    const id = first.deployment.id;
    // Every kind of column filled in (text[], jsonb, timestamptz, integer, boolean, uuid): the
    // admission answers a superseded row as JSON (src/deploy/store.ts), which must come out as
    // postgres.js parses the stored row's columns.
    await sql`
      update deployments set log_tail = ${["a", 'b "c"']},
        steps = ${sql.json([{ name: "lock", status: "ok" }] as never)},
        nodes = ${sql.json([{ node: "n1", status: "ok", message: null }] as never)},
        started_at = '2026-01-02T03:04:05.678901Z', cancel_requested_at = now(),
        exit_code = 3, pushed = false, rollback = ${sql.json({ to: "x" } as never)},
        targets = 'n1', failure_code = 'x', base_sha = 'abc', retry_of = ${id}
      where id = ${id}`;
    const second = await enqueue(sql, { ...req, version: "1.1.0" });
    assert.equal(second.outcome, "queued");
    if (second.outcome !== "queued") return;
    assert.equal(second.superseded.length, 1);
    assert.deepEqual(second.superseded[0], await getDeployment(sql, id));
    assert.equal(second.superseded[0].status, "superseded");
    assert.ok(second.superseded[0].startedAt instanceof Date);
    const status = second.events.find((e) => e.type === "status" && e.deploymentId === id);
    assert.deepEqual(status?.type === "status" && status.deployment, second.superseded[0]);

    // The new row's status entry is built by despacito_enqueue() (migration 0020): the same JSON
    // the API serves for it, here with every request field set.
    const third = await enqueue(sql, {
      ...req,
      version: "1.0.0",
      flakeRef: "git+file:///srv/api?rev=abc",
      kind: "rollback",
      rollbackTo: id,
      retryOf: second.deployment.id,
      trigger: { kind: "forge", id: "f1", label: 'a "quoted" label' },
    });
    assert.equal(third.outcome, "queued");
    const entries = await logEntries(sql, third.deployment.id);
    assert.deepEqual(entries.map((e) => [e.seq, e.stream]), [[1, "system"], [2, "status"]]);
    assert.deepEqual(entries[1].data, { ...deploymentJson(third.deployment), seq: 2 });
    assert.deepEqual(third.deployment, await getDeployment(sql, third.deployment.id));
  });
});
