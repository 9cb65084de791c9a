/**
 * Deployment notifications against despacito as it ships (real process,
 * production flags, real PostgreSQL, real git and nix; colmena is the
 * strict fake). The receivers are real HTTP servers in this test that
 * check what they get the way a consumer would: the generic webhook's
 * HMAC signature over `<timestamp>.<body>`, ntfy's publish request. One
 * receiver fails its first request (retry with backoff), one target is
 * down for good (attempts recorded, deployment unaffected).
 */

import assert from "node:assert/strict";
import { createDeployEnv, STORE_PATH } from "./_harness/deploy_env.ts";
import { runCli, spawnServer, waitFor } from "./_harness/server.ts";
import { signature } from "../src/ops/notify_send.ts";

const HOOK_SECRET = "hook-secret-0123456789";

interface Received {
  path: string;
  headers: Headers;
  body: string;
}

function startReceiver() {
  const got: Received[] = [];
  let failNextHook = 1;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const body = await req.text();
    if (req.method !== "POST") return new Response("method", { status: 405 });
    if (path === "/hook") {
      const ts = req.headers.get("x-despacito-timestamp") ?? "";
      const expected = await signature(HOOK_SECRET, ts, body);
      // A strict consumer: bad signature or stale timestamp is refused.
      if (req.headers.get("x-despacito-signature") !== expected) {
        return new Response("bad signature", { status: 401 });
      }
      if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) {
        return new Response("stale", { status: 401 });
      }
      if (req.headers.get("content-type") !== "application/json") {
        return new Response("", { status: 415 });
      }
      if (failNextHook > 0) {
        failNextHook--;
        return new Response("try later", { status: 503 });
      }
    } else if (path === "/ntfy/deploys") {
      if (!req.headers.get("title") || !req.headers.get("priority") || !req.headers.get("tags")) {
        return new Response("ntfy headers missing", { status: 400 });
      }
    } else return new Response("no such topic", { status: 404 });
    got.push({ path, headers: req.headers, body });
    return Response.json({ ok: true });
  });
  const url = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
  return { got, url, close: () => server.shutdown() };
}

function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("notifications: signed webhook and ntfy per event and package, retried with every attempt recorded; a down target never touches the deployment", async () => {
  const env = await createDeployEnv({ start: false });
  const rx = startReceiver();
  const configFile = `${env.root}/despacito.yaml`;
  await Deno.writeTextFile(
    configFile,
    `
defaults: { goal: switch }
notifications:
  - { name: hook, type: webhook, url: "${rx.url}/hook" }
  - { name: phone, type: ntfy, url: "${rx.url}/ntfy/deploys", events: [deployed, failed], packages: [webapp] }
  - { name: other, type: ntfy, url: "${rx.url}/ntfy/deploys", packages: [api] }
  - { name: down, type: webhook, url: "http://127.0.0.1:${closedPort()}/x", events: [deployed] }
`,
  );
  const secrets = `${env.root}/notify-secrets`;
  await Deno.writeTextFile(secrets, `hook=${HOOK_SECRET}\ndown=whatever\n`);
  const server = await spawnServer({
    env: {
      ...env.env,
      DESPACITO_LOG_LEVEL: "info",
      DESPACITO_CONFIG: configFile,
      DESPACITO_NOTIFY_SECRETS_FILE: secrets,
      DESPACITO_NOTIFY_BACKOFF: "200ms",
      DESPACITO_NOTIFY_ATTEMPTS: "3",
      DESPACITO_BASE_URL: "https://despacito.example",
    },
  });
  try {
    const boot = await fetch(`${server.url}/api/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ description: "notify" }),
    });
    const token = (await boot.json()).token;
    const call = (path: string, init: RequestInit = {}) =>
      fetch(server.url + path, {
        ...init,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      });
    const r = await call("/webhook", {
      method: "POST",
      body: JSON.stringify({
        package: "webapp",
        version: "1.1.0",
        nix_store_path: STORE_PATH,
        flake_ref: `${env.webapp.url}?ref=refs/tags/v1.1.0`,
      }),
    });
    const answer = await r.json();
    assert.equal(r.status, 200, JSON.stringify(answer));
    const id = answer.deployment_id;

    const list = await waitFor("every notification to settle", async () => {
      const b = await (await call(`/api/deployments/${id}/notifications`)).json();
      const n = b.notifications as { state: string }[];
      return n.length === 5 && n.every((x) => x.state !== "pending") ? b.notifications : undefined;
    });
    const by = (target: string, event: string) =>
      // deno-lint-ignore no-explicit-any
      list.find((n: any) => n.target === target && n.event === event);
    for (const event of ["queued", "started", "deployed"]) {
      assert.equal(by("hook", event)?.state, "delivered", event);
    }
    assert.equal(by("phone", "deployed")?.state, "delivered");
    assert.equal(by("phone", "queued"), undefined, "phone asked for deployed/failed only");
    assert.equal(
      list.filter((n: { target: string }) => n.target === "other").length,
      0,
      "api only",
    );
    const down = by("down", "deployed");
    assert.equal(down.state, "failed");
    assert.equal(down.attempts.length, 3);
    assert.ok(
      down.attempts.every((a: { http_status: null; error: string }) =>
        a.http_status === null && a.error
      ),
    );
    // The first webhook request was answered 503 and retried.
    const retried = list.find((n: { attempts: unknown[]; target: string }) =>
      n.attempts.length === 2 && n.target === "hook"
    );
    assert.equal(retried.attempts[0].http_status, 503);
    assert.equal(retried.attempts[1].http_status, 200);
    assert.ok(
      Date.parse(retried.attempts[1].at) - Date.parse(retried.attempts[0].at) >= 150,
      "backoff",
    );

    const hooks = rx.got.filter((g) => g.path === "/hook");
    const events = hooks.map((g) => g.headers.get("x-despacito-event")).sort();
    assert.deepEqual(events, ["deployment.deployed", "deployment.queued", "deployment.started"]);
    const deployed = JSON.parse(
      hooks.find((g) => g.headers.get("x-despacito-event") === "deployment.deployed")!.body,
    );
    assert.equal(
      deployed.delivery_id,
      hooks.find((g) => g.body.includes('"deployment.deployed"'))!.headers.get(
        "x-despacito-delivery",
      ),
    );
    assert.deepEqual(
      {
        ...deployed.deployment,
        created_at: undefined,
        started_at: undefined,
        finished_at: undefined,
      },
      {
        id,
        package: "webapp",
        version: "1.1.0",
        status: "deployed",
        error: null,
        url: `https://despacito.example/deployments/${id}`,
        created_at: undefined,
        started_at: undefined,
        finished_at: undefined,
      },
    );
    const ntfy = rx.got.filter((g) => g.path === "/ntfy/deploys");
    assert.equal(ntfy.length, 1);
    assert.equal(ntfy[0].body, "webapp 1.1.0: deployed");
    assert.equal(ntfy[0].headers.get("title"), "despacito: deployment deployed");
    assert.equal(ntfy[0].headers.get("click"), `https://despacito.example/deployments/${id}`);
    assert.equal(ntfy[0].headers.get("authorization"), null);
    assert.ok(!server.stdout.join("\n").includes(HOOK_SECRET), "the secret never reaches a log");
  } finally {
    await server.stop();
    await rx.close();
    await env.close();
  }
});

Deno.test("a bad notifications list stops startup with every problem named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "despacito-notify-" });
  try {
    const configFile = `${dir}/despacito.yaml`;
    await Deno.writeTextFile(
      configFile,
      `notifications:
  - { name: Hook, type: webhook, url: "ftp://x" }
  - { name: hook, type: slack, url: "https://x", events: [exploded], colour: red }
  - { name: sign, type: webhook, url: "https://x" }
`,
    );
    const env = {
      DESPACITO_DATA_DIR: dir,
      DESPACITO_CONFIG: configFile,
      DESPACITO_POSTGRES_CONNECTION_URI: Deno.env.get("DESPACITO_TEST_POSTGRES_URI") ??
        "postgres://postgres@127.0.0.1:55432/postgres",
      DESPACITO_LISTEN: "127.0.0.1:0",
    };
    const r = await runCli(["serve"], env);
    assert.notEqual(r.code, 0);
    for (
      const problem of [
        "notifications[0].name",
        "notifications[0].url",
        "notifications[1].type",
        "notifications[1].events",
        "notifications[1].colour: unknown key",
        "notifications[2]: webhook sign needs its signing secret",
      ]
    ) {
      assert.ok(
        r.stderr.includes(problem) || r.stdout.includes(problem),
        `${problem}\n${r.stdout}\n${r.stderr}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
