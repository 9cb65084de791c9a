/**
 * What one deployment costs the database, counted on the wire (a proxy in front of
 * PostgreSQL reads every statement despacito sends): each status change is one
 * statement (its row, its status entry and the log lines said before it), the claim
 * and the outcome one statement each, and a worker that finds the queue empty after
 * a deployment asks once. Issue 14 P2: these counts must not grow back. And the
 * status entries, now built inside PostgreSQL, are the deployment as served.
 */

import assert from "node:assert/strict";
import { deploymentJson, type DeploymentRow } from "../src/deploy/deployment.ts";
import type { DeployEvent } from "../src/deploy/store.ts";
import { deployWrites } from "../src/deploy/writes.ts";
import { createBus } from "../src/events/bus.ts";
import { fleetRevs, STORE_PATH, withDeployEnv } from "./_harness/deploy_env.ts";
import { logStatements } from "./_harness/pg_statements.ts";
import { withMigratedDatabase } from "./_harness/postgres.ts";

// A journal batch (appendLogs: lines only, no status entry); how many a deployment takes
// depends on timing.
const isBatch = (s: string) =>
  /insert into deployment_log/.test(s) && !/despacito_deployment_json/.test(s) &&
  !/'status'/.test(s);
const isClaim = (s: string) => /status = 'queued'/.test(s) && /update deployments/.test(s);

Deno.test("one deployment: a statement per status change, claim and outcome; one idle claim after", async () => {
  await withDeployEnv({ start: false }, async (env) => {
    const wire = logStatements(env.dbUri);
    try {
      await env.startServer({ DESPACITO_POSTGRES_CONNECTION_URI: wire.uri });
      const before = wire.statements().length;
      const r = await env.webhook({
        package: "webapp",
        version: "1.1.0",
        nix_store_path: STORE_PATH,
        flake_ref: `${env.webapp.url}?ref=refs/tags/v1.1.0`,
      });
      const body = await r.json();
      assert.equal(r.status, 200, JSON.stringify(body));
      assert.equal(body.status, "deployed");
      // After the answer the worker asks for the next deployment (and finds none).
      const sent = () => wire.statements().slice(before);
      const asks = (s: string) => /status = 'queued'/.test(s);
      await env.waitFor(() => Promise.resolve(sent().filter(asks).length >= 2));
      const all = sent();
      const shown = all.map((s) => s.replace(/\s+/g, " ").slice(0, 100)).join("\n");

      // No transaction is opened: every write is a single statement.
      assert.deepEqual(all.filter((s) => /^\s*(begin|commit)\b/i.test(s)), [], shown);
      // Status entries are written by the change itself, never by a statement of their own.
      const entryAlone = (s: string) =>
        /insert into deployment_log/.test(s) && /'status'/.test(s) &&
        !/update deployments/.test(s);
      assert.deepEqual(all.filter(entryAlone), [], shown);
      // The token's check, and postgres.js's once-per-connection look-up of array types.
      const aside = (s: string) => /\bauth_token\b|\bpg_catalog\./.test(s);
      // Admission, the answer's read, claim, preflight's 2 reads, 2 step starts (flake,
      // activate), the version rule, outcome (with the node states), the idle claim: 10 (the
      // code before issue 14's P2 work: 28).
      const counted = all.filter((s) => !isBatch(s) && !aside(s));
      assert.ok(counted.length <= 10, `${counted.length} statements:\n${shown}`);
      // The outcome records package_state and the node states colmena reported in its own
      // statement; no other statement writes node states; after it, one claim only.
      const outcome = all.findIndex((s) => /insert into package_state/.test(s));
      assert.ok(outcome > 0, shown);
      assert.match(all[outcome], /insert into node_state/, shown);
      assert.equal(all.filter((s) => /insert into node_state/.test(s)).length, 1, shown);
      assert.deepEqual(all.slice(outcome + 1).map(isClaim), [true], shown);

      // Every status entry is the deployment as it was served at that point: the last one
      // is what the API serves now, and the sequence is gap-free.
      const entries = await env.sql<{ seq: number; stream: string; data: unknown }[]>`
        select seq, stream, data from deployment_log
        where deployment_id = ${body.deployment_id} order by seq`;
      assert.deepEqual(entries.map((e) => Number(e.seq)), entries.map((_, i) => i + 1));
      const statuses = entries.filter((e) => e.stream === "status");
      const served = await (await env.fetch(`/api/deployments/${body.deployment_id}`)).json();
      assert.deepEqual(statuses.at(-1)!.data, { ...served, seq: Number(statuses.at(-1)!.seq) });
      assert.deepEqual(
        statuses.map((e) => (e.data as { status: string }).status),
        // The claim, flake's start, activate's start (with commit's), the outcome.
        ["queued", "running", "running", "running", "deployed"],
      );
      const state = await env.sql`select deployment_id from package_state where package = 'webapp'`;
      assert.equal(state[0].deployment_id, body.deployment_id);
      // Fewer statements, the same fleet: every node runs what the record says was locked.
      assert.ok(served.locked_rev, JSON.stringify(served));
      assert.deepEqual(await fleetRevs(env), { alpha: served.locked_rev, beta: served.locked_rev });
    } finally {
      await env.stopServer();
      await wire.close();
    }
  });
});

Deno.test("status entries built by PostgreSQL match deploymentJson, field for field", async () => {
  await withMigratedDatabase(async (sql) => {
    const published: DeployEvent[] = [];
    const bus = createBus<DeployEvent>();
    bus.subscribe((e) => published.push(e));
    const writes = deployWrites(sql, bus);
    const trigger = { kind: "token" as const, id: "t1", label: "ci" };
    const q = await writes.enqueue({
      package: "webapp",
      version: "1.1.0",
      nixStorePath: STORE_PATH,
      flakeRef: null,
      trigger,
    });
    assert.equal(q.outcome, "queued");
    const id = q.deployment.id;
    const rows: DeploymentRow[] = [];

    const c = await writes.claim();
    assert.equal(c.claimed?.id, id);
    assert.deepEqual(c.stuck, []);
    rows.push(c.claimed!);
    // Nothing else is queued, and the running row is not reported as stuck to itself… but to
    // the next claim it is: a row left running is recovered before anything is claimed.
    const again = await writes.claim();
    assert.equal(again.claimed, undefined);
    assert.deepEqual(again.stuck.map((r) => r.id), [id]);

    const at = new Date("2026-11-29T12:00:00.123Z");
    const promoting = await writes.change(id, ["running"], {
      steps: [...c.claimed!.steps, {
        name: "promotion",
        stage: "canary",
        started_at: at.toISOString(),
        finished_at: null,
        duration_ms: null,
        status: "running",
      }],
      commitSha: "a".repeat(40),
      lockedRev: "b".repeat(40),
      nodes: [{ node: "web1", status: "ok" } as never],
      checks: [{ name: "http", ok: true } as never],
      targets: "@web",
      pushed: false,
      cancelRequestedAt: at,
    }, [{ stream: "stdout", line: "one" }, { stream: "stderr", line: "two" }]);
    assert.ok(promoting);
    assert.equal(deploymentJson(promoting.row).awaiting_promotion, "canary");
    rows.push(promoting.row);
    assert.deepEqual(
      promoting.events.map((e) => [e.type, e.seq]),
      [["log", 4], ["log", 5], ["status", 6]],
    );

    const done = await writes.finish(id, {
      status: "failed",
      finishedAt: new Date(),
      error: "it broke",
      failureKind: "failure",
      failureCode: "activation_failed",
      exitCode: 3,
      logTail: ["one", "two"],
      rollback: { status: "ok", nodes: ["web1"] } as never,
      revertSha: "c".repeat(40),
    }, [{ stream: "system", line: "failed: it broke" }]);
    assert.ok(done);
    rows.push(done.row);
    // A failed deployment is no package's state.
    assert.equal((await sql`select 1 from package_state`).length, 0);

    const entries = await sql<{ seq: number; data: unknown }[]>`
      select seq, data from deployment_log
      where deployment_id = ${id} and stream = 'status' and seq > 2 order by seq`;
    const expected = rows.map((r) =>
      JSON.parse(JSON.stringify({ ...deploymentJson(r), seq: r.seq }))
    );
    assert.deepEqual(entries.map((e) => e.data), expected);
    // Published after commit, in sequence order, each once.
    const seqs = published.filter((e) => e.deploymentId === id).map((e) => e.seq);
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1));
  });
});
