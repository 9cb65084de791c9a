/**
 * retry, rollback, promote and release against a strict fake despacito
 * that answers only exactly their requests (POST /api/deployments/:id/
 * retry, /api/packages/:name/rollback {"deployment_id"}, /api/deployments/
 * :id/promote, /api/packages/:name/release) and fails the test on anything
 * else: the CLI's side of the protocol, including promote, whose route the
 * server does not have yet (retry, rollback and release also run against
 * the real server in cli_commands_test.ts). Also: exit codes for refusals,
 * usage errors and an unreachable server.
 */

import assert from "node:assert/strict";
import { runCli } from "./_harness/server.ts";

const TOKEN = "a".repeat(64);
const ID = "3f1c2a9e-8b7d-4c6e-9f00-112233445566";
const TO = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f00112233";

interface Expect {
  method: string;
  path: string;
  body: unknown;
  status: number;
  answer: unknown;
}

/** Answers exactly the expected request, once; anything else is recorded as a protocol error. */
async function withFake(
  expect: Expect[],
  fn: (url: string) => Promise<void>,
): Promise<void> {
  const problems: string[] = [];
  const pending = [...expect];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const u = new URL(req.url);
    const text = await req.text();
    const e = pending.shift();
    const problem = !e
      ? `unexpected request ${req.method} ${u.pathname}`
      : req.method !== e.method || u.pathname !== e.path || u.search !== ""
      ? `want ${e.method} ${e.path}, got ${req.method} ${u.pathname}${u.search}`
      : req.headers.get("authorization") !== `Bearer ${TOKEN}`
      ? "missing bearer token"
      : req.headers.get("content-type") !== "application/json"
      ? `content-type ${req.headers.get("content-type")}`
      : JSON.stringify(JSON.parse(text || "null")) !== JSON.stringify(e.body)
      ? `body ${text}, want ${JSON.stringify(e.body)}`
      : undefined;
    if (problem) {
      problems.push(problem);
      return Response.json({ error: { code: "fake", message: problem } }, { status: 418 });
    }
    return Response.json(e!.answer, { status: e!.status });
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
  assert.deepEqual(problems, [], "the CLI spoke off-protocol");
  assert.deepEqual(pending, [], "requests the CLI never made");
}

const cli = (url: string, args: string[]) =>
  runCli(args, { DESPACITO_URL: url, DESPACITO_TOKEN: TOKEN, XDG_CONFIG_HOME: "/nonexistent" });

const queued = { status: "queued", deployment_id: TO, package: "webapp", version: "1.1.0" };

Deno.test("despacito retry ID: POST /api/deployments/:id/retry; human and --json", async () => {
  const e = { method: "POST", path: `/api/deployments/${ID}/retry`, body: {}, status: 202 };
  await withFake([{ ...e, answer: queued }, { ...e, answer: queued }], async (url) => {
    const human = await cli(url, ["retry", ID]);
    assert.equal(human.code, 0, human.stderr);
    assert.equal(human.stdout, `retry: webapp 1.1.0, deployment ${TO}, queued\n`);
    const json = await cli(url, ["retry", ID, "--json"]);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), queued);
  });
});

Deno.test("despacito rollback PACKAGE --to ID: POST /api/packages/:name/rollback {deployment_id}", async () => {
  const answer = { ...queued, version: "1.0.0" };
  await withFake([{
    method: "POST",
    path: "/api/packages/webapp/rollback",
    body: { deployment_id: ID },
    status: 202,
    answer,
  }], async (url) => {
    const r = await cli(url, ["rollback", "webapp", "--to", ID]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `rollback: webapp 1.0.0, deployment ${TO}, queued\n`);
  });
  // --to is required; a usage error never reaches the server.
  await withFake([], async (url) => {
    const r = await cli(url, ["rollback", "webapp"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--to DEPLOYMENT_ID is required/);
  });
});

Deno.test("despacito promote ID and release PACKAGE: their routes; refusals map to exit codes", async () => {
  await withFake([
    {
      method: "POST",
      path: `/api/deployments/${ID}/promote`,
      body: {},
      status: 200,
      answer: { status: "promoted", deployment_id: ID },
    },
    {
      method: "POST",
      path: "/api/packages/webapp/release",
      body: {},
      status: 200,
      answer: { status: "released", package: "webapp" },
    },
    {
      method: "POST",
      path: "/api/packages/webapp/release",
      body: {},
      status: 409,
      answer: { error: { code: "not_held", message: "webapp is not held" } },
    },
    {
      method: "POST",
      path: `/api/deployments/${ID}/promote`,
      body: {},
      status: 403,
      answer: { error: { code: "package_not_allowed", message: "this token may not deploy x" } },
    },
  ], async (url) => {
    const p = await cli(url, ["promote", ID]);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.stdout, `promote: deployment ${ID}, promoted\n`);
    const rel = await cli(url, ["release", "webapp", "--json"]);
    assert.equal(rel.code, 0, rel.stderr);
    assert.deepEqual(JSON.parse(rel.stdout), { status: "released", package: "webapp" });
    const notHeld = await cli(url, ["release", "webapp"]);
    assert.equal(notHeld.code, 1);
    assert.equal(notHeld.stderr, "despacito: webapp is not held\n");
    const forbidden = await cli(url, ["promote", ID]);
    assert.equal(forbidden.code, 3);
  });
});

Deno.test("operator commands: unknown flags exit 2; an unreachable server exits 4", async () => {
  await withFake([], async (url) => {
    for (
      const args of [["retry", ID, "--force"], ["promote"], ["release", "a", "b"], ["status", "x"]]
    ) {
      const r = await cli(url, args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /^despacito: .*\nusage: despacito /);
    }
  });
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closed = `http://127.0.0.1:${(l.addr as Deno.NetAddr).port}`;
  l.close();
  const down = await cli(closed, ["status"]);
  assert.equal(down.code, 4, down.stderr);
  assert.match(down.stderr, /^despacito: cannot reach http:\/\/127\.0\.0\.1:\d+: /);
  // DESPACITO_TOKEN without DESPACITO_URL: usage.
  const noUrl = await runCli(["status"], {
    DESPACITO_TOKEN: TOKEN,
    XDG_CONFIG_HOME: "/nonexistent",
  });
  assert.equal(noUrl.code, 2, noUrl.stderr);
});
