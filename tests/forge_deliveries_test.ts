import assert from "node:assert/strict";
import { DomainError } from "../src/core/errors.ts";
import {
  buildDelivery,
  createPayload,
  type FakeForgejo,
  startFakeForgejo,
} from "./_harness/fake_forgejo.ts";
import {
  connectWebapp,
  type ForgeApp,
  SHA_A,
  SHA_B,
  startForgeApp,
  waitFor,
} from "./forge_setup.ts";

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

Deno.test("a delivery despacito cannot act on yet is kept (202 pending), shown, and handled once it can", async () => {
  await withHook("tag", async ({ forge, app, id }) => {
    forge.addTag("acme", "webapp", "v3", SHA_B);
    const enqueue = app.ports.enqueue;
    app.ports.enqueue = () =>
      Promise.reject(
        new DomainError(
          "unavailable",
          "flake_dir_unusable",
          "the flake dir is not a git work tree",
        ),
      );
    const [status, body] = await bodies(
      await forge.fire(
        "acme",
        "webapp",
        "create",
        createPayload(forge.url, "acme", "webapp", {
          ref: "refs/tags/v3",
          refType: "tag",
          sha: SHA_B,
        }),
      ),
    );
    assert.equal(status, 202, "not a 503: Forgejo would never send it again");
    assert.equal(body.status, "pending");
    assert.match(body.reason, /not a git work tree/);
    const shown = (await app.api("GET", `/api/repositories/${id}`)).json;
    assert.match(shown.last_delivery.result, /^pending \(the flake dir is not a git work tree\)/);

    app.ports.enqueue = enqueue; // the operator fixed the flake dir
    const result = await waitFor("the pending delivery handled", async () => {
      const r = (await app.api("GET", `/api/repositories/${id}`)).json.last_delivery.result;
      return r === "queued" ? r : undefined;
    });
    assert.equal(result, "queued");
    assert.deepEqual(app.ports.enqueued.map((e) => e.version), ["v3"]);
    const [{ n }] = await app.sql`
      select count(*)::int as n from forge_delivery where pending_payload is not null`;
    assert.equal(n, 0);
  });
});

Deno.test("a pending delivery is dropped once a later one deployed, and given up after its deadline", async () => {
  await withHook("tag", async ({ forge, app, id }) => {
    for (const v of ["v4", "v5", "v6"]) forge.addTag("acme", "webapp", v, SHA_B);
    const enqueue = app.ports.enqueue;
    const fail = () =>
      Promise.reject(new DomainError("unavailable", "flake_dir_unusable", "flake dir busy"));
    const fire = (v: string) =>
      forge.fire(
        "acme",
        "webapp",
        "create",
        createPayload(forge.url, "acme", "webapp", {
          ref: `refs/tags/${v}`,
          refType: "tag",
          sha: SHA_B,
        }),
      );
    app.ports.enqueue = fail;
    assert.equal((await fire("v4"))[0].status, 202);
    // v5 arrives once despacito can enqueue again, and deploys first: v4 must never follow it.
    let held = true;
    app.ports.enqueue = (req) => req.version === "v4" && held ? fail() : enqueue(req);
    assert.equal((await fire("v5"))[0].status, 202);
    held = false;
    await waitFor("v4 dropped", async () => {
      const [row] = await app.sql<{ outcome: string }[]>`
        select outcome from forge_delivery where pending_payload is null and outcome like 'dropped:%'`;
      return row?.outcome;
    });
    assert.deepEqual(app.ports.enqueued.map((e) => e.version), ["v5"]);

    // Past its deadline a pending delivery is given up, with what to do.
    app.ports.enqueue = fail;
    assert.equal((await fire("v6"))[0].status, 202);
    await app.sql`update forge_delivery set retry_until = now() - interval '1 second'
                  where pending_payload is not null`;
    const gaveUp = await waitFor("v6 given up", async () => {
      const r = (await app.api("GET", `/api/repositories/${id}`)).json.last_delivery.result;
      return /^not processed/.test(r) ? r : undefined;
    });
    assert.match(gaveUp, /replay it from the forge/);
    assert.deepEqual(app.ports.enqueued.map((e) => e.version), ["v5"]);
  });
});
