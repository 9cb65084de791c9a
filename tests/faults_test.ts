/**
 * Faults, against despacito as it ships: each asserts that nothing is lost
 * and that everything converges without a manual step — the deployment's
 * record and what the simulated nodes run agree afterwards. Here:
 * PostgreSQL stopped and restarted mid-deployment (a cluster this test
 * owns), a colmena whose grandchild escapes its process group and keeps
 * the pipes open, and 50 identical plus 50 distinct concurrent requests
 * while another deployment runs. The others live beside their features:
 * kill -9 mid-deployment and SIGTERM drain (deploy_restart_test.ts),
 * colmena hanging past its timeout (deploy_failure_test.ts).
 */

import assert from "node:assert/strict";
import { type DeployEnv, STORE_PATH, withDeployEnv } from "./_harness/deploy_env.ts";
import { startCluster } from "./_harness/postgres.ts";

const hook = (env: DeployEnv, version: string, tag: string, pkg = "webapp", query = "") =>
  env.webhook({
    package: pkg,
    version,
    nix_store_path: STORE_PATH,
    flake_ref: `${(pkg === "webapp" ? env.webapp : env.api).url}?ref=refs/tags/${tag}`,
  }, query);

Deno.test(
  "PostgreSQL stops mid-deployment: the activation's outcome is kept, written when it is back, and the queue goes on",
  async () => {
    const cluster = await startCluster();
    try {
      await withDeployEnv({ postgresAdminUri: cluster.adminUri }, async (env) => {
        await env.colmena.set({ mode: "hold" });
        const waiting = hook(env, "1.1.0", "v1.1.0");
        await env.colmena.waitFor((r) => r.length === 1, "colmena to start");
        const second = await (await hook(env, "1.2.0", "v1.2.0", "webapp", "?wait=false")).json();
        assert.equal(second.status, "queued");

        await cluster.stop();
        await env.colmena.release(); // colmena succeeds while the database is away
        await env.waitFor(() =>
          Promise.resolve(
            env.logs.some((l) => l.includes("the database is away; retrying a write")),
          )
        );
        const ready = await fetch(`${env.url}/health/ready`);
        assert.equal(ready.status, 503, "readiness says the database is away");
        await ready.body?.cancel();
        await cluster.start();

        const r = await waiting;
        const b = await r.json();
        assert.equal(r.status, 200, JSON.stringify(b));
        assert.equal(b.status, "deployed");
        const d2 = await env.waitDeployment(
          second.deployment_id,
          (d) => d.status === "deployed" || d.status === "failed",
          60_000,
        );
        assert.equal(d2.status, "deployed", d2.error);
        // Never reverted because a write failed: both deploy commits stand.
        assert.deepEqual((await env.flake.log()).slice(0, 2), [
          "deploy webapp 1.2.0",
          "deploy webapp 1.1.0",
        ]);
        for (const n of ["alpha", "beta"]) {
          assert.equal((await env.colmena.node(n))?.revs.webapp, env.webapp.tags["v1.2.0"], n);
        }
        const nodes = (await (await env.fetch("/api/nodes")).json()).nodes;
        assert.deepEqual(nodes.map((n: { packages: { webapp: string } }) => n.packages.webapp), [
          "1.2.0",
          "1.2.0",
        ]);
        const [{ n }] = await env
          .sql`select count(*)::int as n from deployments where status = 'running'`;
        assert.equal(n, 0, "no row left running");
      });
    } finally {
      await cluster.destroy();
    }
  },
);

Deno.test(
  "a colmena whose grandchild escapes and holds stdout open: its exit status decides, within the timeout",
  async () => {
    await withDeployEnv({ extraEnv: { DESPACITO_DEPLOY_TIMEOUT: "20s" } }, async (env) => {
      await env.colmena.set({ mode: "escape" });
      try {
        const r = await hook(env, "1.1.0", "v1.1.0");
        const b = await r.json();
        assert.equal(r.status, 200, JSON.stringify(b));
        const d = await (await env.fetch(`/api/deployments/${b.deployment_id}`)).json();
        assert.equal(d.status, "deployed");
        assert.equal(d.exit_code, 0);
      } finally {
        const pid = Number(await Deno.readTextFile(`${env.colmena.dir}/escaped`).catch(() => "0"));
        if (pid > 0) {
          try {
            Deno.kill(pid, "SIGKILL");
          } catch { /* already gone */ }
        }
      }
    });
  },
);

Deno.test(
  "50 identical and 50 distinct concurrent requests while another deployment runs: exact answers, one run each, no overlap",
  async () => {
    await withDeployEnv({}, async (env) => {
      await env.colmena.set({ mode: "hold" });
      const other = await (await hook(env, "2.0.0", "v2.0.0", "api", "?wait=false")).json();
      await env.colmena.waitFor((r) => r.length === 1, "the other deployment to run");

      const identical = await Promise.all(
        Array.from({ length: 50 }, () => hook(env, "1.1.0", "v1.1.0", "webapp", "?wait=false")),
      );
      const idStatuses = identical.map((r) => r.status);
      const idBodies = await Promise.all(identical.map((r) => r.json()));
      assert.equal(idStatuses.filter((s) => s === 202).length, 1, idStatuses.join(","));
      assert.equal(idStatuses.filter((s) => s === 409).length, 49);
      assert.ok(idBodies.filter((b) => b.status === "in_progress").length === 49);

      const distinct = await Promise.all(
        Array.from(
          { length: 50 },
          (_, i) => hook(env, `1.2.0-${i + 1}`, "v1.2.0", "webapp", "?wait=false"),
        ),
      );
      assert.deepEqual([
        ...new Set(distinct.map((r) => r.status)),
      ], [202]);
      const ids = (await Promise.all(distinct.map((r) => r.json()))).map((b) => b.deployment_id);
      assert.equal(new Set(ids).size, 50);

      await env.colmena.release();
      await env.waitDeployment(other.deployment_id, (d) => d.status === "deployed");
      await env.waitFor(async () => {
        const [{ active }] = await env.sql`
        select count(*)::int as active from deployments where status in ('queued', 'running')`;
        return active === 0;
      }, 60_000);
      const byStatus = await env.sql<{ status: string; n: number }[]>`
      select status, count(*)::int as n from deployments where package = 'webapp' group by status`;
      assert.deepEqual(
        Object.fromEntries(byStatus.map((r) => [r.status, r.n])),
        { deployed: 1, superseded: 50 },
      );
      // One run for api, one for the newest webapp request: nothing twice, nothing at once.
      assert.deepEqual((await env.colmena.runs()).map((r) => r.argv), [
        ["apply", "switch"],
        ["apply", "switch"],
      ]);
      for (const n of ["alpha", "beta"]) {
        assert.equal((await env.colmena.node(n))?.revs.webapp, env.webapp.tags["v1.2.0"], n);
      }
    });
  },
);
