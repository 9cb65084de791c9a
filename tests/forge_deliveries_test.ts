import assert from "node:assert/strict";
import { DomainError } from "../src/core/errors.ts";
import {
  buildDelivery,
  createPayload,
  type FakeForgejo,
  startFakeForgejo,
} from "./_harness/fake_forgejo.ts";
import { connectWebapp, type ForgeApp, SHA_A, SHA_B, startForgeApp } from "./forge_setup.ts";

const PAT = "pat-admin-0123456789abcdefWXYZ";

interface Ctx {
  forge: FakeForgejo;
  app: ForgeApp;
  id: string;
}

/** A connection whose webhook despacito created, so the fake forge delivers for real. */
async function withHook(trigger: "release" | "tag", fn: (t: Ctx) => Promise<void>) {
  const forge = await startFakeForgejo();
  forge.addRepo("acme", "webapp", { [PAT]: { admin: true, push: true, pull: true } });
  const app = await startForgeApp();
  app.ports.sources.set("webapp", { type: "git", url: `${forge.url}/acme/webapp.git` });
  try {
    const { repository } = await connectWebapp(app, forge, PAT, trigger);
    await fn({ forge, app, id: repository.id });
    assert.deepEqual(forge.rejections, []);
  } finally {
    await app.close();
    await forge.close();
  }
}

const bodies = async (responses: Response[]) => {
  assert.equal(responses.length, 1, "one hook, one delivery");
  return [responses[0].status, await responses[0].json()];
};

Deno.test("a release deploys when it becomes final by `updated` (promoted pre-release, published draft), once per tag", async () => {
  await withHook("release", async ({ forge, app }) => {
    // A pre-release: `published`, but not final.
    const [s1, b1] = await bodies(
      await forge.createRelease("acme", "webapp", {
        tag: "v2.0.0",
        draft: false,
        prerelease: true,
        commit: SHA_A,
      }),
    );
    assert.deepEqual([s1, b1], [200, { status: "ignored", reason: "pre-release" }]);
    // Promoted: Forgejo sends `updated` (the tag exists already).
    const [s2, b2] = await bodies(
      await forge.updateRelease("acme", "webapp", "v2.0.0", { prerelease: false }),
    );
    assert.equal(s2, 202);
    assert.equal(b2.status, "queued");
    assert.equal(app.ports.enqueued.length, 1);
    assert.equal(
      app.ports.enqueued[0].flakeRef,
      `git+${forge.url}/acme/webapp.git?ref=refs/tags/v2.0.0&rev=${SHA_A}`,
    );
    // A later edit (notes, assets) is `updated` again: never a second deployment.
    const [s3, b3] = await bodies(
      await forge.updateRelease("acme", "webapp", "v2.0.0", { prerelease: false }),
    );
    assert.equal(s3, 200);
    assert.equal(b3.status, "ignored");
    assert.equal(b3.deployment_id, b2.deployment_id);
    assert.match(b3.reason, /release v2\.0\.0 already triggered deployment/);
    assert.equal(app.ports.enqueued.length, 1);

    // A draft whose tag already exists, published later: `updated` too.
    forge.addTag("acme", "webapp", "v2.1.0", SHA_B);
    assert.deepEqual(
      await forge.createRelease("acme", "webapp", {
        tag: "v2.1.0",
        draft: true,
        prerelease: false,
        commit: SHA_B,
      }),
      [],
      "a draft sends nothing",
    );
    const [s4, b4] = await bodies(
      await forge.updateRelease("acme", "webapp", "v2.1.0", { draft: false }),
    );
    assert.equal(s4, 202);
    assert.equal(b4.version, "v2.1.0");
    // A draft without its tag: publishing creates the tag, so Forgejo says `published`.
    await forge.createRelease("acme", "webapp", {
      tag: "v2.2.0",
      draft: true,
      prerelease: false,
      commit: SHA_B,
    });
    const [s5] = await bodies(
      await forge.updateRelease("acme", "webapp", "v2.2.0", { draft: false, commit: SHA_B }),
    );
    assert.equal(s5, 202);
    assert.deepEqual(app.ports.enqueued.map((e) => e.version), ["v2.0.0", "v2.1.0", "v2.2.0"]);
  });
});

Deno.test("a forge tag passes the webhook's validation and must exist before anything is queued", async () => {
  await withHook("tag", async ({ forge, app, id }) => {
    const [hook] = forge.hooks("acme", "webapp");
    const send = async (ref: string) => {
      const d = await buildDelivery({
        event: "create",
        payload: createPayload(forge.url, "acme", "webapp", { ref, refType: "tag", sha: SHA_A }),
        secret: hook.secret,
      });
      const r = await fetch(`${app.url}/webhook/forgejo/${id}`, {
        method: "POST",
        headers: d.headers,
        body: d.body,
      });
      return [r.status, await r.json()];
    };
    for (
      const bad of [
        "v1\u0000",
        "x".repeat(300),
        "-x",
        "--upload-pack=touch /tmp/pwned",
        "v1\u202Egnp",
        "v\u200B1",
        "v1\n",
        "a..b",
      ]
    ) {
      const [status, body] = await send(`refs/tags/${bad}`);
      assert.equal(status, 400, JSON.stringify(bad));
      assert.equal(body.error.code, "invalid_request");
      assert.deepEqual(body.error.details.map((d: { field: string }) => d.field), ["tag"]);
    }
    const [status, body] = await send("refs/tags/v9.9.9");
    assert.equal(status, 422);
    assert.equal(body.error.code, "tag_not_found");
    assert.deepEqual(app.ports.enqueued, [], "nothing queued, nothing written");
    const repo = (await app.api("GET", `/api/repositories/${id}`)).json;
    assert.match(repo.last_delivery.result, /^rejected: .*no tag "v9\.9\.9"/);
  });
});

Deno.test("a delivery despacito cannot enqueue answers 503 with what to do, is shown, and may be sent again", async () => {
  await withHook("tag", async ({ forge, app, id }) => {
    forge.addTag("acme", "webapp", "v3", SHA_B);
    const [hook] = forge.hooks("acme", "webapp");
    const d = await buildDelivery({
      event: "create",
      payload: createPayload(forge.url, "acme", "webapp", {
        ref: "refs/tags/v3",
        refType: "tag",
        sha: SHA_B,
      }),
      secret: hook.secret,
      deliveryId: "d-503",
    });
    const post = () =>
      fetch(`${app.url}/webhook/forgejo/${id}`, {
        method: "POST",
        headers: d.headers,
        body: d.body,
      });
    const enqueue = app.ports.enqueue;
    app.ports.enqueue = () =>
      Promise.reject(new DomainError("unavailable", "shutting_down", "despacito is shutting down"));
    const first = await post();
    assert.equal(first.status, 503);
    const body = await first.json();
    assert.equal(body.error.code, "shutting_down");
    assert.match(body.error.message, /Forgejo does not retry: replay this delivery/);
    const repo = (await app.api("GET", `/api/repositories/${id}`)).json;
    assert.match(repo.last_delivery.result, /^not processed .*replay it from the forge/);

    // Once despacito can enqueue, the same delivery is handled (not answered from the 503).
    app.ports.enqueue = enqueue;
    const again = await post();
    assert.equal(again.status, 202);
    assert.equal(app.ports.enqueued.length, 1);
  });
});
