/**
 * Forgejo/Gitea deliveries (POST /webhook/forgejo/:id) against despacito as
 * it ships (tests/_harness/forge_world.ts). What a delivery asked of the
 * deploy area is read from the deployments API; the fixture app repo
 * carries every tag the fake forge knows, so each deployment is real.
 */

import assert from "node:assert/strict";
import {
  buildDelivery,
  createPayload,
  type FakeForgejo,
  type Flavor,
  pushPayload,
  releasePayload,
} from "./_harness/fake_forgejo.ts";
import { apiCalls, type ForgeWorld, type Json, withForgeWorld } from "./_harness/forge_world.ts";
import { fleetRevs } from "./_harness/deploy_env.ts";

const PAT = "pat-admin-0123456789abcdefWXYZ";
const PUSH_PAT = "pat-push-0123456789abcdefPUSH";
/** The object id of v1.2.0 as an annotated tag: only the forge knows it, and resolves it. */
const SHA_TAG_OBJECT = "9999999999999999999999999999999999999999";

interface Ctx {
  forge: FakeForgejo;
  w: ForgeWorld;
  id: string;
  secret: string;
  /** The commit of v1.2.0 (an annotated tag on the forge). */
  shaA: string;
  /** The commit of a tag: v1.2.0, v1, v2, v3, v4, v9 or v1.3.0, each its own release. */
  sha(tag: string): string;
  /** What a deployment of `tag` at `sha` is asked to fetch. */
  refOf(tag: string, sha: string): string;
  post(body: BodyInit, headers: HeadersInit, id?: string): Promise<Response>;
  deliver(event: string, payload: unknown, o?: Record<string, unknown>): Promise<Response>;
  /** The versions of every deployment so far, oldest first. */
  versions(): Promise<string[]>;
}

/** The delivery was answered 202 queued for `version` (the body is read, never left open). */
async function assertQueued(answer: Response | Promise<Response>, version: string) {
  const res = await answer;
  const body = await res.json();
  assert.equal(res.status, 202, JSON.stringify(body));
  assert.equal(body.status, "queued");
  assert.equal(body.version, version);
}

/** The delivery was refused with this status and machine-readable code (the body is read). */
async function assertRefused(answer: Response | Promise<Response>, status: number, code: string) {
  const res = await answer;
  const body = await res.json();
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.error.code, code);
}

async function withConnection(
  trigger: "release" | "tag",
  fn: (t: Ctx) => Promise<void>,
  flavor: Flavor = "forgejo",
) {
  await withForgeWorld({ flavor }, async (w) => {
    const { forge, env } = w;
    forge.addRepo("acme", "webapp", {
      [PAT]: { admin: true, push: true, pull: true },
      [PUSH_PAT]: { admin: false, push: true, pull: true },
    });
    const shaA = env.webapp.tags["v1.2.0"];
    forge.addTag("acme", "webapp", "v1.2.0", shaA, SHA_TAG_OBJECT);
    // One commit per tag: despacito never deploys one revision under two versions.
    for (const v of ["v1", "v2", "v3", "v4", "v9", "v1.3.0"]) {
      forge.addTag("acme", "webapp", v, await env.webapp.release(v.slice(1)));
    }
    // Manual setup (push-only PAT) hands out the secret the way an operator would paste it.
    const res = await w.connect("webapp", PUSH_PAT, trigger);
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const id = res.json.repository.id;
    const secret = res.json.webhook.manual.secret;
    const post = (body: BodyInit, headers: HeadersInit, to = id) => w.post(to, body, headers);
    const deliver = async (event: string, payload: unknown, o: Record<string, unknown> = {}) => {
      const d = await buildDelivery({ flavor, event, payload, secret, ...o });
      return await post(d.body, d.headers);
    };
    forge.calls.length = 0;
    await fn({
      forge,
      w,
      id,
      secret,
      shaA,
      sha: (tag) => env.webapp.tags[tag],
      refOf: (tag, sha) => `${env.webapp.url}?ref=refs/tags/${tag}&rev=${sha}`,
      post,
      deliver,
      versions: async () => (await w.deployments()).map((d: Json) => d.version),
    });
  });
}

Deno.test("POST /webhook/forgejo/:id enqueues a published release pinned to the tag's commit, within a second", async () => {
  await withConnection("release", async (t) => {
    const started = performance.now();
    const res = await t.deliver(
      "release",
      releasePayload(t.forge.url, "acme", "webapp", { tag: "v1.2.0" }),
    );
    const took = performance.now() - started;
    assert.equal(res.status, 202);
    const body = await res.json();
    assert.ok(took < 1000, `answered in ${took} ms`);
    assert.deepEqual(body, {
      status: "queued",
      deployment_id: body.deployment_id,
      package: "webapp",
      version: "v1.2.0",
    });
    // What was asked of the deploy area: exactly this one deployment.
    const [d] = await t.w.deployments();
    assert.deepEqual(
      [d.id, d.package, d.version, d.flake_ref, d.nix_store_path, d.triggered_by],
      [
        body.deployment_id,
        "webapp",
        "v1.2.0",
        t.refOf("v1.2.0", t.shaA),
        null,
        { kind: "forge", id: t.id, label: "acme/webapp" },
      ],
    );
    assert.equal((await t.w.deployments()).length, 1);
    const done = await t.w.env.waitDeployment(d.id, (d) => d.status === "deployed");
    assert.equal(done.locked_rev, t.shaA);
    assert.deepEqual(await fleetRevs(t.w.env), { alpha: t.shaA, beta: t.shaA });
    assert.deepEqual(apiCalls(t.forge).map((c) => [c.method, c.path, c.authorization]), [
      ["GET", "/api/v1/repos/acme/webapp/tags/v1.2.0", `token ${PUSH_PAT}`],
    ]);
    const repo = (await t.w.api("GET", `/api/repositories/${t.id}`)).json;
    assert.equal(repo.last_delivery.event, "release");
    assert.equal(repo.last_delivery.result, "queued");
  });
});

Deno.test("POST /webhook/forgejo/:id ignores drafts, pre-releases, deletions and tags on a release connection", async () => {
  await withConnection("release", async (t) => {
    const p = (o: Record<string, unknown>) =>
      releasePayload(t.forge.url, "acme", "webapp", { tag: "v2", ...o });
    const reason = async (event: string, payload: unknown) => {
      const r = await t.deliver(event, payload);
      assert.equal(r.status, 200);
      const b = await r.json();
      assert.equal(b.status, "ignored");
      return b.reason;
    };
    assert.equal(await reason("release", p({ draft: true })), "draft release");
    assert.equal(
      await reason("release", p({ action: "updated", prerelease: true })),
      "pre-release",
    );
    assert.equal(await reason("release", p({ action: "deleted" })), "release deleted");
    assert.equal(await reason("release", p({ prerelease: true })), "pre-release");
    assert.equal(
      await reason(
        "create",
        createPayload(t.forge.url, "acme", "webapp", {
          ref: "refs/tags/v2",
          refType: "tag",
          sha: t.shaA,
        }),
      ),
      "this connection deploys releases, not tags",
    );
    assert.equal(
      await reason("issues", { action: "opened" }),
      'event "issues" does not trigger deployments',
    );
    assert.deepEqual(await t.w.deployments(), []);
  });
});

Deno.test("POST /webhook/forgejo/:id deploys a tag create (resolving an annotated tag) and a tag push, ignores a branch push", async () => {
  await withConnection("tag", async (t) => {
    await assertQueued(
      t.deliver(
        "create",
        createPayload(t.forge.url, "acme", "webapp", {
          ref: "refs/tags/v1.2.0",
          refType: "tag",
          sha: SHA_TAG_OBJECT,
        }),
      ),
      "v1.2.0",
    );
    const [first] = await t.w.deployments();
    assert.equal(first.flake_ref, t.refOf("v1.2.0", t.shaA));

    await assertQueued(
      t.deliver(
        "push",
        pushPayload(t.forge.url, "acme", "webapp", {
          ref: "refs/tags/v1.3.0",
          after: t.sha("v1.3.0"),
        }),
      ),
      "v1.3.0",
    );
    const second = (await t.w.deployments())[1];
    assert.equal(second.version, "v1.3.0");
    assert.equal(second.flake_ref, t.refOf("v1.3.0", t.sha("v1.3.0")));
    assert.deepEqual(
      apiCalls(t.forge).map((c) => c.path),
      ["/api/v1/repos/acme/webapp/tags/v1.2.0", "/api/v1/repos/acme/webapp/tags/v1.3.0"],
      "every tag is looked up: it must exist, and its commit is the forge's word",
    );

    const branch = await t.deliver(
      "push",
      pushPayload(t.forge.url, "acme", "webapp", { ref: "refs/heads/main", after: t.sha("v1") }),
    );
    assert.equal(branch.status, 200);
    assert.deepEqual(await branch.json(), { status: "ignored", reason: "branch push (main)" });
    assert.deepEqual(await t.versions(), ["v1.2.0", "v1.3.0"]);
    // Both really deployed, one after the other, each at the forge's commit.
    for (const [d, sha] of [[first, t.shaA], [second, t.sha("v1.3.0")]] as const) {
      const done = await t.w.env.waitDeployment(d.id, (d) => d.status === "deployed");
      assert.equal(done.locked_rev, sha);
    }
    assert.deepEqual(await fleetRevs(t.w.env), { alpha: t.sha("v1.3.0"), beta: t.sha("v1.3.0") });
  });
});

Deno.test("POST /webhook/forgejo/:id accepts the form content type (signature over the decoded payload)", async () => {
  await withConnection("tag", async (t) => {
    await assertQueued(
      t.deliver(
        "push",
        pushPayload(t.forge.url, "acme", "webapp", {
          ref: "refs/tags/v1.3.0",
          after: t.sha("v1.3.0"),
        }),
        { contentType: "form" },
      ),
      "v1.3.0",
    );
    assert.deepEqual(await t.versions(), ["v1.3.0"]);
  });
});

Deno.test("POST /webhook/forgejo/:id accepts Gitea's headers", async () => {
  await withConnection("tag", async (t) => {
    const d = await buildDelivery({
      flavor: "gitea",
      event: "push",
      payload: pushPayload(t.forge.url, "acme", "webapp", {
        ref: "refs/tags/v9",
        after: t.sha("v9"),
      }),
      secret: t.secret,
    });
    assert.equal(d.headers.get("x-forgejo-signature"), null);
    // colmena holds, so the first deployment is still in progress when the second delivery comes.
    await t.w.env.colmena.set({ mode: "hold" });
    const queued = await t.post(d.body, d.headers);
    assert.equal(queued.status, 202);
    const first = (await queued.json()).deployment_id;
    // X-Hub-Signature-256 alone is enough too.
    const hub = new Headers(d.headers);
    for (const h of ["x-gitea-signature", "x-gogs-signature"]) hub.delete(h);
    hub.set("x-gitea-delivery", crypto.randomUUID());
    const again = await t.post(d.body, hub);
    assert.equal(again.status, 200, "the same version again is not an error");
    const body = await again.json();
    assert.equal(body.status, "in_progress");
    assert.equal(body.deployment_id, first, "the deployment already under way");
    assert.deepEqual((await t.w.deployments()).map((d: Json) => [d.id, d.version]), [
      [first, "v9"],
    ]);
    await t.w.env.colmena.release();
    await t.w.env.waitDeployment(first, (d) => d.status === "deployed");
    await t.w.env.colmena.set({ mode: "ok" });
  }, "gitea");
});

Deno.test("POST /webhook/forgejo/:id answers 401 and nothing else for missing, empty, wrong signatures and unknown connections", async () => {
  await withConnection("tag", async (t) => {
    const payload = pushPayload(t.forge.url, "acme", "webapp", {
      ref: "refs/tags/v1",
      after: t.sha("v1"),
    });
    const good = await buildDelivery({ event: "push", payload, secret: t.secret });
    const variants: [string, Headers, string?][] = [];
    const without = new Headers(good.headers);
    for (
      const h of [
        "x-forgejo-signature",
        "x-gitea-signature",
        "x-gogs-signature",
        "x-hub-signature-256",
        "x-hub-signature",
      ]
    ) without.delete(h);
    variants.push(["missing", without]);
    const empty = new Headers(without);
    empty.set("x-forgejo-signature", "");
    variants.push(["empty", empty]);
    const wrong = await buildDelivery({ event: "push", payload, secret: "not-the-secret" });
    variants.push(["wrong secret", wrong.headers]);
    variants.push(["unknown connection", good.headers, crypto.randomUUID()]);
    variants.push(["not a uuid", good.headers, "nope"]);
    const bodies = new Set<string>();
    for (const [what, headers, to] of variants) {
      const res = await t.post(good.body, headers, to);
      assert.equal(res.status, 401, what);
      bodies.add(await res.text());
    }
    // Tampered body with a valid signature of the original.
    const tampered = new Uint8Array(good.body);
    tampered[tampered.length - 3] ^= 1;
    const res = await t.post(tampered, good.headers);
    assert.equal(res.status, 401);
    bodies.add(await res.text());
    assert.equal(bodies.size, 1, "every refusal looks the same");
    assert.deepEqual(JSON.parse([...bodies][0]), {
      error: { code: "invalid_signature", message: "missing or invalid webhook signature" },
    });
    assert.deepEqual(await t.w.deployments(), []);
    await assertQueued(t.post(good.body, good.headers), "v1");
    assert.deepEqual(await t.versions(), ["v1"]);
  });
});

Deno.test("POST /webhook/forgejo/:id answers a redelivery with the first result and never enqueues twice", async () => {
  await withConnection("tag", async (t) => {
    const payload = pushPayload(t.forge.url, "acme", "webapp", {
      ref: "refs/tags/v1",
      after: t.sha("v1"),
    });
    const d = await buildDelivery({ event: "push", payload, secret: t.secret, deliveryId: "d-1" });
    const first = await t.post(d.body, d.headers);
    const again = await t.post(d.body, d.headers);
    assert.equal(first.status, 202);
    assert.equal(again.status, 202);
    assert.deepEqual(await again.json(), await first.json());
    assert.deepEqual(await t.versions(), ["v1"]);
    const [{ n }] = await t.w.env.sql`select count(*)::int as n from forge_delivery`;
    assert.equal(n, 1);
  });
});

Deno.test("POST /webhook/forgejo/:id records a refused enqueue and answers it again on redelivery", async () => {
  await withConnection("tag", async (t) => {
    // flake.nix no longer has the input.
    const declared = (await t.w.env.flake.lock() as Json).nodes.webapp.original;
    await t.w.declare("webapp", undefined);
    const payload = pushPayload(t.forge.url, "acme", "webapp", {
      ref: "refs/tags/v1",
      after: t.sha("v1"),
    });
    const d = await buildDelivery({ event: "push", payload, secret: t.secret });
    const first = await t.post(d.body, d.headers);
    assert.equal(first.status, 422);
    assert.equal((await first.json()).error.code, "unknown_package");
    await t.w.declare("webapp", declared);
    // The first answer stands.
    await assertRefused(t.post(d.body, d.headers), 422, "unknown_package");
    assert.deepEqual(await t.w.deployments(), []);
  });
});

Deno.test("POST /webhook/forgejo/:id refuses (422 source_mismatch) when the flake input no longer is the connected repository", async () => {
  await withConnection("tag", async (t) => {
    // flake.nix changed after the connection was made: the input now comes from elsewhere.
    await t.w.declare("webapp", { type: "git", url: "https://elsewhere.example/acme/webapp" });
    const res = await t.deliver(
      "push",
      pushPayload(t.forge.url, "acme", "webapp", { ref: "refs/tags/v1", after: t.sha("v1") }),
    );
    assert.equal(res.status, 422);
    const body = await res.json();
    assert.equal(body.error.code, "source_mismatch");
    assert.match(body.error.message, /elsewhere\.example/);
    assert.deepEqual(await t.w.deployments(), []);
    const repo = (await t.w.api("GET", `/api/repositories/${t.id}`)).json;
    assert.match(repo.last_delivery.result, /^rejected: .*not this repository/);
  });
});

Deno.test("POST /api/repositories/:id/rotate-secret accepts both secrets during the overlap, then only the new one", async () => {
  await withConnection("tag", async (t) => {
    const rot = await t.w.api("POST", `/api/repositories/${t.id}/rotate-secret`);
    assert.equal(rot.status, 200);
    assert.match(rot.json.secret, /^[0-9a-f]{64}$/);
    assert.equal(rot.json.webhook_updated, false, "manual setup: the operator updates the forge");
    const until = new Date(rot.json.previous_valid_until).getTime();
    assert.ok(Math.abs(until - (Date.now() + 24 * 3600_000)) < 60_000);
    const repo = (await t.w.api("GET", `/api/repositories/${t.id}`)).json;
    assert.equal(repo.secret.last4, rot.json.secret.slice(-4));
    assert.equal(repo.secret.rotating_until, rot.json.previous_valid_until);

    const payload = (v: string) =>
      pushPayload(t.forge.url, "acme", "webapp", { ref: `refs/tags/${v}`, after: t.sha(v) });
    const signed = (secret: string, v: string) =>
      buildDelivery({ event: "push", payload: payload(v), secret });
    const old1 = await signed(t.secret, "v1");
    await assertQueued(t.post(old1.body, old1.headers), "v1");
    const new1 = await signed(rot.json.secret, "v2");
    await assertQueued(t.post(new1.body, new1.headers), "v2");

    await t.w.env
      .sql`update forge_connection set previous_valid_until = now() - interval '1 second'`;
    const old2 = await signed(t.secret, "v3");
    await assertRefused(t.post(old2.body, old2.headers), 401, "invalid_signature");
    const new2 = await signed(rot.json.secret, "v4");
    await assertQueued(t.post(new2.body, new2.headers), "v4");
    assert.deepEqual(await t.versions(), ["v1", "v2", "v4"]);
  });
});
