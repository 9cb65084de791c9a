import assert from "node:assert/strict";
import { STORE_PATH, withDeployEnv } from "./_harness/deploy_env.ts";
import { git } from "./_harness/flakes.ts";

Deno.test(
  "restart after kill -9 mid-deployment: the surviving colmena is ended first, repo and fleet rolled back, queue resumes",
  async () => {
    await withDeployEnv({}, async (env) => {
      const original = await env.flake.lockedRev("webapp");
      await env.colmena.set({ mode: "hang" });
      const first = await (await env.webhook(
        { package: "webapp", version: "1.1.0", nix_store_path: STORE_PATH },
        "?wait=false",
      ))
        .json();
      await env.colmena.waitFor((r) => r.length === 1, "colmena to start");
      assert.equal((await env.flake.log())[0], "deploy webapp 1.1.0");
      // Parked (printing nothing more), as a colmena waiting on ssh would be: a process still
      // writing to its dead parent's pipe would end by itself.
      await env.waitFor(async () =>
        (await (await env.fetch(`/api/deployments/${first.deployment_id}/log`)).text())
          .includes("hanging")
      );
      // Queued behind the running one (a request arriving earlier would supersede the first).
      const second = await (await env.webhook({
        package: "webapp",
        version: "1.2.0",
        nix_store_path: STORE_PATH,
        flake_ref: `${env.webapp.url}?ref=refs/tags/v1.2.0`,
      }, "?wait=false")).json();
      assert.equal(second.status, "queued");

      await env.killServer();
      // colmena runs in its own session: it outlives despacito, as it would without systemd.
      const orphan = Number((await Deno.readTextFile(`${env.colmena.dir}/active`)).trim());
      // `ps`, not /proc: reading /proc/<pid> needs --allow-all, which `deno task test` does not grant.
      const alive = async () => {
        const r = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(orphan)] })
          .output();
        const stat = new TextDecoder().decode(r.stdout).trim();
        return r.success && stat !== "" && !stat.startsWith("Z");
      };
      assert.equal(await alive(), true, "the old colmena survived the crash");
      const [row] = await env.sql`select status from deployments where id = ${first.deployment_id}`;
      assert.equal(row.status, "running");

      await env.colmena.set({ mode: "ok" });
      await env.startServer();
      await env.waitDeployment(second.deployment_id, (d) => d.status === "deployed");
      assert.equal(await alive(), false, "despacito ended the surviving colmena group");
      const d1 = await (await env.fetch(`/api/deployments/${first.deployment_id}`)).json();
      assert.equal(d1.status, "interrupted");
      assert.match(d1.error, /interrupted/);
      assert.equal(d1.revert_sha !== null, true);
      assert.equal(d1.rollback.status, "ok");

      assert.equal(await env.flake.status(), "");
      // The revert brought the lock back to the last good state before the queue went on.
      const reverted = JSON.parse(await git(env.flake.dir, "show", `${d1.revert_sha}:flake.lock`));
      assert.equal(reverted.nodes.webapp.locked.rev, original);
      assert.equal(await env.flake.lockedRev("webapp"), env.webapp.tags["v1.2.0"]);
      assert.deepEqual((await env.flake.log()).slice(0, 3), [
        "deploy webapp 1.2.0",
        "revert deploy webapp 1.1.0",
        "deploy webapp 1.1.0",
      ]);
      // The hung run, the recovery's rollback of every targeted node at the reverted lock, then 1.2.0.
      const runs = await env.colmena.runs();
      assert.deepEqual(runs.map((r) => r.argv), [
        ["apply", "switch"],
        ["apply", "switch"],
        ["apply", "switch"],
      ]);
      for (const n of ["alpha", "beta"]) {
        assert.equal((await env.colmena.node(n))?.revs.webapp, env.webapp.tags["v1.2.0"], n);
      }
    });
  },
);

Deno.test(
  "graceful shutdown waits for the running deployment, then interrupts it, reverts and answers the waiting client",
  async () => {
    await withDeployEnv({ extraEnv: { DESPACITO_SHUTDOWN_TIMEOUT: "1s" } }, async (env) => {
      await env.colmena.set({ mode: "hang" });
      const waiting = env.webhook({
        package: "webapp",
        version: "1.1.0",
        nix_store_path: STORE_PATH,
      });
      await env.colmena.waitFor((r) => r.length === 1, "colmena to start");
      const stopped = env.stopServer();
      const r = await waiting;
      assert.equal(r.status, 500);
      const b = await r.json();
      assert.equal(b.status, "interrupted");
      await stopped;
      assert.equal(await env.flake.status(), "");
      assert.equal((await env.flake.log())[0], "revert deploy webapp 1.1.0");
      const [row] = await env.sql`select status, failure_kind from deployments`;
      assert.deepEqual({ ...row }, { status: "interrupted", failure_kind: "error" });
    });
  },
);
