import assert from "node:assert/strict";
import { STORE_PATH, withDeployEnv } from "./_harness/deploy_env.ts";
import { git } from "./_harness/flakes.ts";

const body = (patch: Record<string, unknown> = {}) => ({
  package: "webapp",
  version: "1.1.0",
  nix_store_path: STORE_PATH,
  ...patch,
});

Deno.test(
  "partial activation failure: lock reverted, the nodes that switched rolled back, the answer names the failed node",
  async () => {
    await withDeployEnv({}, async (env) => {
      await env.colmena.set({ failNode: "beta" });
      const original = await env.flake.lockedRev("webapp");
      const seeded = await env.colmena.node("alpha");
      const r = await env.webhook(body({ flake_ref: `${env.webapp.url}?ref=refs/tags/v1.1.0` }));
      assert.equal(r.status, 500);
      const b = await r.json();
      assert.equal(b.status, "failed");
      assert.match(b.error, /^activation failed on beta: Activation failed: Child process exited/);

      assert.equal(await env.flake.lockedRev("webapp"), original);
      assert.equal(await env.flake.status(), "");
      const subjects = await env.flake.log();
      assert.deepEqual(subjects.slice(0, 2), ["revert deploy webapp 1.1.0", "deploy webapp 1.1.0"]);
      const d = await (await env.fetch(`/api/deployments/${b.deployment_id}`)).json();
      assert.equal(d.failure_kind, "failure");
      assert.equal(d.exit_code, 1);
      assert.equal(
        d.error,
        "activation failed on beta: Activation failed: Child process exited with error code: 4; rolled back alpha, beta",
      );
      assert.equal(d.failure_code, "activation_failed");
      assert.equal(d.rollback.status, "ok");
      assert.equal(d.rollback.commit_sha, d.revert_sha);
      // alpha had switched to 1.1.0: it is back on what it ran before, and so is beta.
      for (const n of ["alpha", "beta"]) {
        const now = await env.colmena.node(n);
        assert.equal(now?.system, n === "alpha" ? seeded?.system : now?.system);
        assert.equal(now?.revs.webapp, original, `${n} runs the previous webapp`);
      }
      const rolledBack = (await env.colmena.runs())[1];
      assert.deepEqual(rolledBack.argv, ["apply", "switch", "--on", "alpha,beta"]);
      const nodes = (await (await env.fetch("/api/nodes")).json()).nodes;
      assert.deepEqual(
        nodes.map((n: Record<string, unknown>) => [n.node, n.commit, n.outcome]),
        [["alpha", d.revert_sha, "rolled_back"], ["beta", d.revert_sha, "rolled_back"]],
      );
      assert.equal(d.revert_sha, await env.flake.head());
      const msg = await git(env.flake.dir, "log", "-1", "--format=%B");
      assert.match(msg, new RegExp(`Deployment-Id: ${b.deployment_id}\nReverts: ${d.commit_sha}`));
      assert.deepEqual(
        d.nodes.map((n: { node: string; status: string }) => `${n.node}:${n.status}`),
        [
          "alpha:succeeded",
          "beta:failed",
        ],
      );
      assert.ok(d.log_tail.length > 5 && d.log_tail.length <= 50);
      assert.match(d.log_tail.join("\n"), /beta \| Activation failed/);
      assert.deepEqual(
        d.steps.map((s: { name: string; status: string }) => `${s.name}:${s.status}`),
        [
          "queued:ok",
          "preflight:ok",
          "flake:ok",
          "commit:ok",
          "activate:failed",
          "restore:ok",
          "rollback:ok",
        ],
      );
      // A failed version may be tried again.
      await env.colmena.set({ failNode: "" });
      const retry = await env.webhook(body());
      assert.equal(retry.status, 200);
      await retry.body?.cancel();
    });
  },
);

Deno.test("the deploy timeout kills colmena's whole process group and reverts", async () => {
  await withDeployEnv({ start: false }, async (env) => {
    const cfg = `${env.root}/despacito.yaml`;
    await Deno.writeTextFile(cfg, "packages:\n  webapp:\n    timeout: 1s\n    on: '@web'\n");
    await env.startServer({ DESPACITO_CONFIG: cfg });
    await env.colmena.set({ mode: "hang" });
    const r = await env.webhook(body());
    assert.equal(r.status, 500);
    const b = await r.json();
    assert.match(b.error, /colmena timed out after 1s; its process group was killed/);
    const runs = await env.colmena.runs();
    assert.deepEqual(runs[0].argv, ["apply", "switch", "--on", "@web"]);
    const pid = (await Deno.readTextFile(`${env.colmena.dir}/active`)).trim();
    assert.equal(await alive(pid), false, "the hanging colmena is gone");
    assert.equal(await env.flake.status(), "");
    assert.equal((await env.flake.log())[0], "revert deploy webapp 1.1.0");
    const d = await (await env.fetch(`/api/deployments/${b.deployment_id}`)).json();
    assert.equal(d.failure_kind, "error");
  });
});

Deno.test(
  "a dirty flake repo fails the deployment listing the paths, commits nothing and leaves them alone",
  async () => {
    await withDeployEnv({}, async (env) => {
      const head = await env.flake.head();
      await Deno.writeTextFile(`${env.flake.dir}/notes.txt`, "mine\n");
      await Deno.writeTextFile(`${env.flake.dir}/flake.nix`, "# edited\n", { append: true });
      const r = await env.webhook(body());
      assert.equal(r.status, 500);
      const b = await r.json();
      assert.match(b.error, /uncommitted changes, refusing to deploy: .*flake\.nix/);
      assert.match(b.error, /notes\.txt/);
      assert.equal(await env.flake.head(), head);
      assert.equal(await Deno.readTextFile(`${env.flake.dir}/notes.txt`), "mine\n");
      assert.match(await env.flake.status(), / M flake\.nix/);
      assert.equal((await env.colmena.runs()).length, 0);
    });
  },
);

Deno.test(
  "a nix failure fails before colmena and leaves the repo exactly as it was",
  async () => {
    await withDeployEnv({}, async (env) => {
      const head = await env.flake.head();
      const lock = await Deno.readTextFile(`${env.flake.dir}/flake.lock`);
      const r = await env.webhook(body({ flake_ref: `${env.webapp.url}?ref=refs/tags/v9.9.9` }));
      assert.equal(r.status, 500);
      const b = await r.json();
      assert.match(b.error, /^nix flake lock exited with 1/);
      assert.equal(await env.flake.head(), head);
      assert.equal(await Deno.readTextFile(`${env.flake.dir}/flake.lock`), lock);
      assert.equal(await env.flake.status(), "");
      assert.equal((await env.colmena.runs()).length, 0);
      const d = await (await env.fetch(`/api/deployments/${b.deployment_id}`)).json();
      assert.deepEqual(
        d.steps.map((s: { name: string; status: string }) => `${s.name}:${s.status}`),
        [
          "queued:ok",
          "preflight:ok",
          "flake:failed",
          "restore:ok",
        ],
      );
    });
  },
);

Deno.test(
  "POST /api/deployments/:id/cancel kills a running deployment, reverts, and refuses finished ones",
  async () => {
    await withDeployEnv({}, async (env) => {
      await env.colmena.set({ mode: "hang" });
      const waiting = env.webhook(body());
      await env.colmena.waitFor((r) => r.length === 1, "colmena to start");
      const [{ id }] = await env.sql`select id from deployments`;
      const c = await env.fetch(`/api/deployments/${id}/cancel`, { method: "POST" });
      assert.equal(c.status, 202);
      assert.equal((await c.json()).status, "cancelling");
      const r = await waiting;
      assert.equal(r.status, 500);
      assert.equal((await r.json()).status, "cancelled");
      assert.equal(await env.flake.status(), "");
      assert.equal((await env.flake.log())[0], "revert deploy webapp 1.1.0");
      const again = await env.fetch(`/api/deployments/${id}/cancel`, { method: "POST" });
      assert.equal(again.status, 409);
      assert.equal((await again.json()).status, "cancelled");
    });
  },
);

async function alive(pid: string): Promise<boolean> {
  const r = await new Deno.Command("kill", { args: ["-0", pid], stderr: "null" }).output();
  return r.success;
}
