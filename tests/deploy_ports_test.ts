import assert from "node:assert/strict";
import { createDeployArea } from "../src/deploy/area.ts";
import type { DeploymentStatusEvent } from "../src/deploy/ports.ts";
import { loadConfig } from "../src/config/config.ts";
import { openDatabase } from "../src/db/connect.ts";
import { loadMigrations, migrate } from "../src/db/migrate.ts";
import { DomainError } from "../src/core/errors.ts";
import { silentLogger } from "../src/log/log.ts";
import { createDeployEnv } from "./_harness/deploy_env.ts";

Deno.test(
  "DeployPorts: the forge enqueues, follows status changes and reads declared sources",
  async () => {
    const env = await createDeployEnv({ start: false });
    const db = await openDatabase({ postgresUri: env.dbUri, dataDir: env.root, log: silentLogger });
    const stopping = new AbortController();
    try {
      await migrate(db.sql, await loadMigrations(), silentLogger);
      const area = await createDeployArea({
        config: loadConfig(env.env),
        log: silentLogger,
        sql: db.sql,
        stopping: stopping.signal,
      });
      await area.start?.();
      const events: DeploymentStatusEvent[] = [];
      const ended = Promise.withResolvers<void>();
      area.ports.subscribe((e) => {
        events.push(e);
        if (e.status === "deployed") ended.resolve();
      });

      assert.deepEqual(await area.ports.declaredSource("webapp"), {
        type: "git",
        url: `file://${env.webapp.dir}`,
      });
      assert.equal(await area.ports.declaredSource("nope"), undefined);

      const req = {
        package: "webapp",
        version: "1.2.0",
        flakeRef: `${env.webapp.url}?ref=refs/tags/v1.2.0&rev=${env.webapp.tags["v1.2.0"]}`,
        nixStorePath: null,
        trigger: { kind: "forge" as const, id: "conn-1", label: "owner/webapp" },
      };
      const r = await area.ports.enqueue(req);
      assert.equal(r.outcome, "queued");
      assert.equal((await area.ports.enqueue(req)).outcome, "in_progress");
      await ended.promise;
      assert.equal((await area.ports.enqueue(req)).outcome, "already_deployed");
      const statuses = events.map((e) => e.status);
      assert.deepEqual(statuses.filter((s, i) => s !== statuses[i - 1]), [
        "queued",
        "running",
        "deployed",
      ]);
      const last = events.at(-1)!;
      assert.equal(last.deploymentId, r.deploymentId);
      assert.equal(last.lockedRev, env.webapp.tags["v1.2.0"]);
      assert.equal(last.failureKind, null);
      assert.ok(last.finishedAt instanceof Date);
      // No Store-Path trailer without a store path.
      const msg = await new Deno.Command("git", {
        args: ["log", "-1", "--format=%B"],
        cwd: env.flake.dir,
      })
        .output();
      assert.doesNotMatch(new TextDecoder().decode(msg.stdout), /Store-Path/);

      await assert.rejects(
        () => area.ports.enqueue({ ...req, package: "nope" }),
        (e) => e instanceof DomainError && e.kind === "unprocessable",
      );
      await assert.rejects(
        () => area.ports.enqueue({ ...req, version: "9", flakeRef: `${env.api.url}` }),
        (e) => e instanceof DomainError && e.kind === "invalid",
      );
      stopping.abort();
      await area.stop?.(AbortSignal.timeout(5000));
    } finally {
      await db.close();
      await env.close();
    }
  },
);
