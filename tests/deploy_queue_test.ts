import assert from "node:assert/strict";
import { type DeployEnv, STORE_PATH, withDeployEnv } from "./_harness/deploy_env.ts";

Deno.test(
  "enqueue() under 20 concurrent identical requests: one deployment, one colmena run, 19× 409 in_progress",
  async () => {
    await withDeployEnv({}, async (env) => {
      await env.colmena.set({ mode: "hold" });
      const body = { package: "webapp", version: "1.1.0", nix_store_path: STORE_PATH };
      const responses = await Promise.all(
        Array.from({ length: 20 }, () => env.webhook(body, "?wait=false")),
      );
      const bodies = await Promise.all(responses.map((r) => r.json()));
      const statuses = responses.map((r) => r.status).sort();
      assert.deepEqual(statuses, [202, ...Array(19).fill(409)]);
      const id = bodies.find((b) => b.status === "queued").deployment_id;
      for (const b of bodies) assert.equal(b.deployment_id, id);
      assert.ok(
        bodies.filter((b) => b.status !== "queued").every((b) => b.status === "in_progress"),
      );

      await env.colmena.release();
      await env.waitDeployment(id, (d) => d.status === "deployed");
      const [{ n }] = await env.sql`select count(*)::int as n from deployments`;
      assert.equal(n, 1);
      assert.equal((await env.colmena.runs()).length, 1);
    });
  },
);

Deno.test(
  "enqueue() coalesces: 3 versions arriving while busy → only the newest runs, the others end superseded (409)",
  async () => {
    await withDeployEnv({}, async (env) => {
      await env.colmena.set({ mode: "hold" });
      const busy = await env.webhook(
        { package: "api", version: "2.0.0", nix_store_path: STORE_PATH },
        "?wait=false",
      );
      const busyId = (await busy.json()).deployment_id;
      await env.colmena.waitFor((r) => r.length === 1, "the first run to start");

      const ref = `${env.webapp.url}?ref=refs/tags/v1.2.0`;
      const send = (version: string) =>
        env.webhook({ package: "webapp", version, nix_store_path: STORE_PATH, flake_ref: ref });
      // Waiting clients, sent one after another so arrival order is defined.
      const a = send("1.2.0-rc1");
      await env.waitFor(async () => (await count(env, "webapp")) === 1);
      const b = send("1.2.0-rc2");
      await env.waitFor(async () => (await count(env, "webapp")) === 2);
      const c = send("1.2.0");
      await env.waitFor(async () => (await count(env, "webapp")) === 3);

      const [ra, rb] = await Promise.all([a, b]);
      assert.equal(ra.status, 409);
      assert.equal(rb.status, 409);
      const [ba, bb] = [await ra.json(), await rb.json()];
      assert.equal(ba.status, "superseded");
      assert.equal(bb.status, "superseded");

      await env.colmena.release();
      const rc = await c;
      assert.equal(rc.status, 200);
      const bc = await rc.json();
      // Each is superseded by the next arrival; the chain ends at the one that ran.
      assert.equal(ba.superseded_by, bb.deployment_id);
      assert.equal(bb.superseded_by, bc.deployment_id);
      await env.waitDeployment(busyId, (d) => d.status === "deployed");

      assert.equal((await env.colmena.runs()).length, 2);
      assert.equal(await env.flake.lockedRev("webapp"), env.webapp.tags["v1.2.0"]);
      const list = await (await env.fetch("/api/deployments?package=webapp&status=superseded"))
        .json();
      assert.deepEqual(list.deployments.map((d: { version: string }) => d.version), [
        "1.2.0-rc2",
        "1.2.0-rc1",
      ]);
      const page1 = await (await env.fetch("/api/deployments?limit=2")).json();
      assert.equal(page1.deployments.length, 2);
      assert.equal(page1.deployments[0].version, "1.2.0");
      const page2 = await (await env.fetch(`/api/deployments?limit=2&cursor=${page1.next_cursor}`))
        .json();
      assert.deepEqual(page2.deployments.map((d: { version: string }) => d.version), [
        "1.2.0-rc1",
        "2.0.0",
      ]);
      assert.equal(page2.next_cursor, null);
    });
  },
);

async function count(env: DeployEnv, pkg: string) {
  const [{ n }] = await env.sql`select count(*)::int as n from deployments where package = ${pkg}`;
  return n as number;
}
