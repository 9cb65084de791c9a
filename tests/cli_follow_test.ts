/**
 * `despacito logs -f` against a strict fake event stream: a proxy's 502
 * while despacito restarts is retried, a stream dropped mid-way is resumed
 * with Last-Event-ID (checked by the fake), and the command ends with the
 * deployment's outcome on `end`.
 */

import assert from "node:assert/strict";
import { runCli } from "./_harness/server.ts";

const TOKEN = "b".repeat(64);
const ID = "3f1c2a9e-8b7d-4c6e-9f00-112233445566";

const sse = (events: string[]) =>
  new Response(events.join(""), { headers: { "content-type": "text/event-stream" } });
const log = (seq: number, line: string) =>
  `id: ${seq}\nevent: log\ndata: ${JSON.stringify({ seq, stream: "stderr", line, at: "x" })}\n\n`;

async function follow(final: string) {
  const seen: (string | null)[] = [];
  const problems: string[] = [];
  const answers = [
    () => new Response("bad gateway", { status: 502 }),
    () => sse([": keepalive\n\n", log(1, "one"), log(2, "two")]), // then the connection drops
    () =>
      sse([
        log(3, "three"),
        `id: 4\nevent: status\ndata: ${JSON.stringify({ status: final, seq: 4 })}\n\n`,
        "event: end\ndata: {}\n\n",
      ]),
  ];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const u = new URL(req.url);
    if (req.method !== "GET" || u.pathname !== `/api/deployments/${ID}/events`) {
      problems.push(`${req.method} ${u.pathname}`);
      return new Response(null, { status: 418 });
    }
    if (req.headers.get("authorization") !== `Bearer ${TOKEN}`) problems.push("no token");
    seen.push(req.headers.get("last-event-id"));
    const next = answers.shift();
    if (!next) problems.push("one request too many");
    return next ? next() : new Response(null, { status: 418 });
  });
  try {
    const r = await runCli(["logs", "-f", ID], {
      DESPACITO_URL: `http://127.0.0.1:${server.addr.port}`,
      DESPACITO_TOKEN: TOKEN,
      XDG_CONFIG_HOME: "/nonexistent",
    });
    return { r, seen, problems };
  } finally {
    await server.shutdown();
  }
}

Deno.test("logs -f: retries a 502, resumes after the last event id, exits with the outcome", async () => {
  const { r, seen, problems } = await follow("deployed");
  assert.deepEqual(problems, []);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "one\ntwo\nthree\n", "each line once, in order");
  assert.deepEqual(seen, [null, null, "2"], "resumed after event 2");
  assert.match(r.stderr, /resuming after event 2/);
  assert.match(r.stderr, /^\[deployed\]$/m);
});

Deno.test("logs -f: a deployment that failed exits 1", async () => {
  const { r } = await follow("failed");
  assert.equal(r.code, 1, r.stderr);
});
