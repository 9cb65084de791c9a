/**
 * Rotating a webhook secret must reach the forge: Forgejo ignores `secret`
 * in a hook edit, so despacito replaces the hook (see src/forge/rotation.ts).
 */

import assert from "node:assert/strict";
import { releasePayload, startFakeForgejo } from "./_harness/fake_forgejo.ts";
import { connectWebapp, SHA_A, SHA_B, startForgeApp } from "./forge_setup.ts";

const PAT = "pat-admin-0123456789abcdefWXYZ";
const sourceOf = (forge: { url: string }) => ({ type: "git", url: `${forge.url}/acme/webapp.git` });

for (const flavor of ["forgejo", "gitea"] as const) {
  Deno.test(`POST /api/repositories/:id/rotate-secret reaches ${flavor}: a new hook signs with the new secret, the old one goes`, async () => {
    const forge = await startFakeForgejo(flavor);
    forge.addRepo("acme", "webapp", { [PAT]: { admin: true, push: true, pull: true } });
    forge.addTag("acme", "webapp", "v1.2.0", SHA_A);
    forge.addTag("acme", "webapp", "v1.3.0", SHA_B);
    const app = await startForgeApp();
    app.ports.sources.set("webapp", sourceOf(forge));
    try {
      const repo = (await connectWebapp(app, forge, PAT, "release")).repository;
      const [old] = forge.hooks("acme", "webapp");
      forge.calls.length = 0;
      const rot = await app.api("POST", `/api/repositories/${repo.id}/rotate-secret`);
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
      const shown = (await app.api("GET", `/api/repositories/${repo.id}`)).json;
      assert.equal(shown.webhook_id, hooks[0].id);

      // After the overlap only the new secret verifies; the forge's next delivery still passes.
      await app.sql`update forge_connection set previous_valid_until = now() - interval '1 second'`;
      const [res] = await forge.fire(
        "acme",
        "webapp",
        "release",
        releasePayload(forge.url, "acme", "webapp", { tag: "v1.3.0" }),
      );
      assert.equal(res.status, 202);
      assert.equal(app.ports.enqueued.length, 1);
      assert.deepEqual(forge.rejections, []);
    } finally {
      await app.close();
      await forge.close();
    }
  });
}

Deno.test("POST /api/repositories/:id/rotate-secret changes nothing when the forge refuses the new hook", async () => {
  const forge = await startFakeForgejo();
  forge.addRepo("acme", "webapp", { [PAT]: { admin: true, push: true, pull: true } });
  const app = await startForgeApp();
  app.ports.sources.set("webapp", sourceOf(forge));
  try {
    const repo = (await connectWebapp(app, forge, PAT, "release")).repository;
    forge.failNext(/\/hooks$/, 1, 500);
    const rot = await app.api("POST", `/api/repositories/${repo.id}/rotate-secret`);
    assert.equal(rot.status, 503);
    assert.equal(rot.json.error.code, "forge_error");
    const after = (await app.api("GET", `/api/repositories/${repo.id}`)).json;
    assert.deepEqual(after.secret, repo.secret, "the old secret stays the only one");
    assert.equal(after.webhook_id, repo.webhook_id);
    const [{ n }] = await app.sql`select count(*)::int as n from sealed_secret`;
    assert.equal(n, 2, "no orphaned secret");
  } finally {
    await app.close();
    await forge.close();
  }
});
