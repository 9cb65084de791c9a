/**
 * The fake forge answers as Forgejo and Gitea do where despacito once
 * assumed otherwise (see the source files cited in fake_forgejo_api.ts).
 */

import assert from "node:assert/strict";
import { type Flavor, startFakeForgejo } from "./fake_forgejo.ts";

const ADMIN = "pat-admin-0123456789";
const READONLY = "pat-readonly-0123456789";
const SHA = "1111111111111111111111111111111111111111";

async function withFake(
  flavor: Flavor,
  fn: (f: Awaited<ReturnType<typeof start>>) => Promise<void>,
) {
  const f = await start(flavor);
  try {
    await fn(f);
  } finally {
    await f.forge.close();
  }
}

async function start(flavor: Flavor) {
  const forge = await startFakeForgejo(flavor);
  forge.addRepo("acme", "webapp", {
    [ADMIN]: { admin: true, push: true, pull: true },
    [READONLY]: { admin: true, push: true, pull: true, scopes: ["read:repository"] },
  });
  forge.addTag("acme", "webapp", "v1", SHA);
  const call = async (method: string, path: string, token = ADMIN, body?: unknown) => {
    const res = await fetch(`${forge.url}/api/v1/repos/acme/webapp${path}`, {
      method,
      redirect: "manual",
      headers: {
        Authorization: `token ${token}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      location: res.headers.get("location"),
      json: text && JSON.parse(text),
    };
  };
  return { forge, call };
}

const hook = (secret: string) => ({
  type: "gitea",
  config: { url: "http://127.0.0.1:9/hook", content_type: "json", secret },
  events: ["release"],
  active: true,
});

for (const flavor of ["forgejo", "gitea"] as const) {
  Deno.test(`fake ${flavor}: a hook edit ${flavor === "forgejo" ? "ignores" : "applies"} the secret`, async () => {
    await withFake(flavor, async ({ forge, call }) => {
      const created = await call("POST", "/hooks", ADMIN, hook("old-secret"));
      assert.equal(created.status, 201);
      assert.equal(created.json.config.secret, undefined, "the API never shows a secret");
      const edited = await call("PATCH", `/hooks/${created.json.id}`, ADMIN, hook("new-secret"));
      assert.equal(edited.status, 200);
      assert.equal(
        forge.hooks("acme", "webapp")[0].secret,
        flavor === "forgejo" ? "old-secret" : "new-secret",
      );
    });
  });
}

Deno.test("fake forge: the token's scope is checked before the repository; permissions are the user's", async () => {
  await withFake("forgejo", async ({ forge, call }) => {
    const repo = await call("GET", "", READONLY);
    assert.equal(repo.status, 200);
    assert.deepEqual(repo.json.permissions, { admin: true, push: true, pull: true });
    const post = await call("POST", `/statuses/${SHA}`, READONLY, {
      state: "pending",
      context: "c",
      description: "d",
      target_url: "",
    });
    assert.equal(post.status, 403);
    assert.equal(
      post.json.message,
      "token does not have at least one of required scope(s): [write:repository]",
    );
    forge.moveRepo("acme", "webapp", "newco", "web");
    assert.equal((await call("DELETE", "/hooks/0", READONLY)).status, 403, "scope before lookup");
  });
});

Deno.test("fake forge: a moved repository answers 307 to the same path under its new name", async () => {
  await withFake("forgejo", async ({ forge, call }) => {
    forge.moveRepo("acme", "webapp", "newco", "web");
    const r = await call("POST", `/statuses/${SHA}?x=1`, ADMIN, {});
    assert.equal(r.status, 307);
    assert.equal(r.location, `/api/v1/repos/newco/web/statuses/${SHA}?x=1`);
    assert.equal(forge.statuses("newco", "web").length, 0);
  });
});

Deno.test("fake forge: a status goes on any resolvable ref, and 500 for an unknown one", async () => {
  await withFake("forgejo", async ({ forge, call }) => {
    const body = { state: "success", context: "c", description: "d", target_url: "" };
    for (const ref of [SHA, "v1", "main"]) {
      assert.equal((await call("POST", `/statuses/${ref}`, ADMIN, body)).status, 201, ref);
    }
    assert.deepEqual(forge.statuses("acme", "webapp").map((s) => s.sha).slice(0, 2), [SHA, SHA]);
    const unknown = await call("POST", `/statuses/${"2".repeat(40)}`, ADMIN, body);
    assert.equal(unknown.status, 500);
    assert.deepEqual(forge.rejections, []);
  });
});
