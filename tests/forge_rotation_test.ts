/**
 * Rotating a webhook secret must reach the forge: Forgejo ignores `secret`
 * in a hook edit, so despacito replaces the hook (see src/forge/rotation.ts).
 * Against despacito as it ships (tests/_harness/forge_world.ts).
 */

import assert from "node:assert/strict";
import { releasePayload } from "./_harness/fake_forgejo.ts";
import { type ForgeWorld, withForgeWorld } from "./_harness/forge_world.ts";

const PAT = "pat-admin-0123456789abcdefWXYZ";

/** acme/webapp on the forge (with the fixture's tags), connected with an admin PAT: the hook is despacito's. */
async function connected(w: ForgeWorld) {
  const { forge, env } = w;
  forge.addRepo("acme", "webapp", { [PAT]: { admin: true, push: true, pull: true } });
  for (const [tag, sha] of Object.entries(env.webapp.tags)) {
    forge.addTag("acme", "webapp", tag, sha);
  }
  const res = await w.connect("webapp", PAT, "release");
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return res.json.repository;
}

for (const flavor of ["forgejo", "gitea"] as const) {
  Deno.test(`POST /api/repositories/:id/rotate-secret reaches ${flavor}: a new hook signs with the new secret, the old one goes`, async () => {
    await withForgeWorld({ flavor }, async (w) => {
      const { forge } = w;
      const repo = await connected(w);
      const [old] = forge.hooks("acme", "webapp");
      forge.calls.length = 0;
      const rot = await w.api("POST", `/api/repositories/${repo.id}/rotate-secret`);
      assert.equal(rot.status, 200);
      assert.equal(rot.json.webhook_updated, true);
      assert.equal(rot.json.warning, undefined);
      const hooks = forge.hooks("acme", "webapp");
      assert.equal(hooks.length, 1, "the old hook is gone");
      assert.notEqual(hooks[0].id, old.id);
      assert.equal(rot.json.webhook_id, hooks[0].id);
      assert.equal(hooks[0].secret, rot.json.secret, "the forge holds the new secret");
      assert.deepEqual(forge.calls.map((c) => [c.method, c.path, c.status]), [
        ["POST", "/api/v1/repos/acme/webapp/hooks", 201],
        ["GET", `/api/v1/repos/acme/webapp/hooks/${hooks[0].id}`, 200],
        ["DELETE", `/api/v1/repos/acme/webapp/hooks/${old.id}`, 204],
      ]);
      const shown = (await w.api("GET", `/api/repositories/${repo.id}`)).json;
      assert.equal(shown.webhook_id, hooks[0].id);

      // After the overlap only the new secret verifies; the forge's next delivery still passes.
      await w.env
        .sql`update forge_connection set previous_valid_until = now() - interval '1 second'`;
      const [res] = await forge.fire(
        "acme",
        "webapp",
        "release",
        releasePayload(forge.url, "acme", "webapp", { tag: "v1.2.0" }),
      );
      assert.equal(res.status, 202);
      const id = (await res.json()).deployment_id;
      assert.deepEqual((await w.deployments()).map((d) => [d.id, d.version]), [[id, "v1.2.0"]]);
      await w.env.waitDeployment(id, (d) => d.status === "deployed");
    });
  });
}

Deno.test("POST /api/repositories/:id/rotate-secret changes nothing when the forge refuses the new hook", async () => {
  await withForgeWorld({}, async (w) => {
    const repo = await connected(w);
    w.forge.failNext(/\/hooks$/, 1, 500);
    const rot = await w.api("POST", `/api/repositories/${repo.id}/rotate-secret`);
    assert.equal(rot.status, 503);
    assert.equal(rot.json.error.code, "forge_error");
    const after = (await w.api("GET", `/api/repositories/${repo.id}`)).json;
    assert.deepEqual(after.secret, repo.secret, "the old secret stays the only one");
    assert.equal(after.webhook_id, repo.webhook_id);
    const [{ n }] = await w.env.sql`select count(*)::int as n from sealed_secret`;
    assert.equal(n, 2, "no orphaned secret");
  });
});
