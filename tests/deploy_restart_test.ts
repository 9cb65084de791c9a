import assert from "node:assert/strict";
import { createDeployEnv, STORE_PATH } from "./_harness/deploy_env.ts";
import { spawnServer } from "./_harness/server_process.ts";
import { openDatabase } from "../src/db/connect.ts";
import { createToken } from "../src/auth/tokens.ts";
import { silentLogger } from "../src/log/log.ts";
import { git } from "./_harness/flakes.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test(
  "restart after kill -9 mid-deployment: repo back to the last good commit, state interrupted, queue resumes",
  opts,
  async () => {
    const env = await createDeployEnv({ start: false });
    try {
      const original = await env.flake.lockedRev("webapp");
      let server = await spawnServer(env.env);
      const db = await openDatabase({
        postgresUri: env.dbUri,
        dataDir: env.root,
        log: silentLogger,
      });
      const { token } = await createToken(db.sql, { description: "ci" });
      await db.close();
      const hook = (url: string, b: Record<string, unknown>) =>
        fetch(`${url}/webhook?wait=false`, {
          method: "POST",
          headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
          body: JSON.stringify({ nix_store_path: STORE_PATH, ...b }),
        }).then((r) => r.json());

      await env.colmena.set({ mode: "hang" });
      const first = await hook(server.url, { package: "webapp", version: "1.1.0" });
      const second = await hook(server.url, {
        package: "webapp",
        version: "1.2.0",
        flake_ref: `${env.webapp.url}?ref=refs/tags/v1.2.0`,
      });
      assert.equal(second.status, "queued");
      await env.colmena.waitFor((r) => r.length === 1, "colmena to start");
      assert.equal((await env.flake.log())[0], "deploy webapp 1.1.0");

      await server.kill9();
      // systemd would end the whole cgroup; here the orphaned colmena group goes by hand.
      const orphan = Number((await Deno.readTextFile(`${env.colmena.dir}/active`)).trim());
      Deno.kill(-orphan, "SIGKILL");
      await env.waitFor(async () => {
        const stat = await Deno.readTextFile(`/proc/${orphan}/stat`).catch(() => "");
        return stat === "" || stat.includes(") Z ");
      });
      const [row] = await env.sql`select status from deployments where id = ${first.deployment_id}`;
      assert.equal(row.status, "running");

      await env.colmena.set({ mode: "ok" });
      server = await spawnServer(env.env);
      const get = async (id: string) =>
        await (await fetch(`${server.url}/api/deployments/${id}`, {
          headers: { Authorization: `Bearer ${token}` },
        })).json();
      await env.waitFor(async () => (await get(second.deployment_id)).status === "deployed")
        .catch((e) => {
          throw new Error(`${e.message}\n${server.lines.join("\n")}`);
        });
      const d1 = await get(first.deployment_id);
      assert.equal(d1.status, "interrupted");
      assert.match(d1.error, /interrupted/);
      assert.equal(d1.revert_sha !== null, true);

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
      assert.equal((await env.colmena.runs()).length, 2);
      assert.equal(await server.stop(), 0);
    } finally {
      await env.close();
    }
  },
);

Deno.test(
  "graceful shutdown waits for the running deployment, then interrupts it, reverts and answers the waiting client",
  opts,
  async () => {
    const env = await createDeployEnv({ extraEnv: { DESPACITO_SHUTDOWN_TIMEOUT: "1s" } });
    try {
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
    } finally {
      await env.close();
    }
  },
);
