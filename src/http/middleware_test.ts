import assert from "node:assert/strict";
import { Hono } from "hono";
import { createLogger } from "../log/log.ts";
import { onError } from "./errors.ts";
import { requestBasics } from "./middleware.ts";
import type { AppEnv } from "./types.ts";

/** The middleware as app.ts uses it, a logger into `lines`, and a few routes. */
function app(
  lines: string[],
  options: { hsts?: boolean; maxBody?: number; bodyTimeoutMs?: number } = {},
) {
  const a = new Hono<AppEnv>();
  a.use(requestBasics({
    log: createLogger({ sink: (l) => lines.push(l) }),
    hsts: options.hsts ?? false,
    maxBodyBytes: options.maxBody ?? 16,
    bodyTimeoutMs: options.bodyTimeoutMs ?? 30_000,
  }));
  a.onError(onError);
  a.get("/id", (c) => {
    c.get("log").info("in handler");
    return c.text(c.get("requestId"));
  });
  a.get(
    "/page",
    (c) => c.html("<p>x</p>", 200, { "Content-Security-Policy": "default-src 'self'" }),
  );
  a.get("/fail", (c) => c.text("down", 503));
  a.get("/raw", () => new Response("built by hand"));
  a.post("/echo", async (c) => c.text(await c.req.text()));
  return a;
}

const logged = (lines: string[]) => lines.map((l) => JSON.parse(l));

Deno.test("requestBasics() adopts a sane X-Request-Id, replaces a bad one, tags every log line", async () => {
  const lines: string[] = [];
  const kept = await app(lines).request("/id", { headers: { "x-request-id": "caddy-1.2_3" } });
  assert.equal(await kept.text(), "caddy-1.2_3");
  assert.equal(kept.headers.get("x-request-id"), "caddy-1.2_3");
  assert.ok(logged(lines).every((l) => l.request_id === "caddy-1.2_3"));

  for (const bad of ["has space", "x".repeat(65), "<script>"]) {
    const res = await app([]).request("/id", { headers: { "x-request-id": bad } });
    const id = await res.text();
    assert.notEqual(id, bad);
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(res.headers.get("x-request-id"), id);
  }
});

Deno.test("requestBasics() writes one line per request: path without query, status, level", async () => {
  const lines: string[] = [];
  const a = app(lines);
  await (await a.request("/id?token=abc")).text();
  await (await a.request("/fail")).text();
  const requests = logged(lines).filter((l) => l.msg === "request");
  assert.equal(requests.length, 2);
  assert.equal(requests[0].path, "/id");
  assert.ok(!lines.join("\n").includes("token=abc"), "the query is never logged");
  assert.equal(requests[0].status, 200);
  assert.equal(requests[0].level, "info");
  assert.equal(typeof requests[0].duration_ms, "number");
  assert.equal(requests[1].status, 503);
  assert.equal(requests[1].level, "error");
});

Deno.test("requestBasics() sets the security headers, keeps a route's own CSP, HSTS only when asked", async () => {
  const plain = await app([]).request("/id");
  await plain.text();
  assert.equal(plain.headers.get("x-content-type-options"), "nosniff");
  assert.equal(plain.headers.get("x-frame-options"), "DENY");
  assert.equal(plain.headers.get("referrer-policy"), "same-origin");
  assert.equal(
    plain.headers.get("content-security-policy"),
    "default-src 'none'; frame-ancestors 'none'",
  );
  assert.equal(plain.headers.get("strict-transport-security"), null);

  const page = await app([], { hsts: true }).request("/page");
  await page.text();
  assert.equal(page.headers.get("content-security-policy"), "default-src 'self'");
  assert.equal(page.headers.get("strict-transport-security"), "max-age=31536000");

  // A Response a handler built by hand gets them too.
  const raw = await app([]).request("/raw", { headers: { "x-request-id": "r-1" } });
  assert.equal(await raw.text(), "built by hand");
  assert.equal(raw.headers.get("x-frame-options"), "DENY");
  assert.equal(raw.headers.get("x-request-id"), "r-1");
  assert.match(raw.headers.get("content-security-policy") ?? "", /default-src 'none'/);
});

Deno.test("requestBasics() passes a body within the limit and answers 413 beyond it", async () => {
  const ok = await app([]).request("/echo", { method: "POST", body: "x".repeat(16) });
  assert.equal(ok.status, 200);
  assert.equal(await ok.text(), "x".repeat(16));
  const big = await app([]).request("/echo", { method: "POST", body: "x".repeat(17) });
  assert.equal(big.status, 413);
  assert.equal((await big.json()).error.code, "payload_too_large");
  // A declared length beyond the limit is refused before the handler runs.
  const lines: string[] = [];
  const declared = await app(lines).request("/echo", {
    method: "POST",
    headers: { "content-length": "17" },
    body: "x".repeat(17),
  });
  assert.equal(declared.status, 413);
  assert.equal(declared.headers.get("x-content-type-options"), "nosniff");
  assert.equal(logged(lines).find((l) => l.msg === "request")?.status, 413);
});

Deno.test("requestBasics() turns a body that cannot be read to the end into a 400, not a 500", async () => {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("x"));
      controller.error(new Error("client went away"));
    },
  });
  const res = await app([]).request(
    "/echo",
    { method: "POST", body, duplex: "half" } as RequestInit,
  );
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error.code, "invalid_body");
});

Deno.test("requestBasics() answers 408 when the body does not arrive in time, and lets a prompt one through", async () => {
  const a = app([], { maxBody: 1024, bodyTimeoutMs: 100 });
  assert.equal(await (await a.request("/echo", { method: "POST", body: "quick" })).text(), "quick");

  // Headers sent, the body never finished: the read fails at the deadline, not never.
  let stalled!: ReadableStreamDefaultController<Uint8Array>;
  const trickle = new ReadableStream<Uint8Array>({ start: (c) => void (stalled = c) });
  stalled.enqueue(new TextEncoder().encode('{"a":'));
  const res = await a.request(
    "/echo",
    { method: "POST", body: trickle, duplex: "half" } as RequestInit,
  );
  assert.equal(res.status, 408);
  assert.equal((await res.json()).error.code, "request_timeout");
});

Deno.test("requestBasics() reads a body before the route: text(), arrayBuffer() and json() see it whole, also in chunks", async () => {
  const a = new Hono<AppEnv>();
  a.use(
    requestBasics({
      log: createLogger({ sink: () => {} }),
      hsts: false,
      maxBodyBytes: 64,
      bodyTimeoutMs: 30_000,
    }),
  );
  a.post("/all", async (c) => {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    return c.json({ text: await c.req.text(), json: await c.req.json(), bytes: bytes.length });
  });
  const parts = ['{"a":', '"bé",', '"b":[1,2]}'];
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const p of parts) controller.enqueue(new TextEncoder().encode(p));
      controller.close();
    },
  });
  const res = await a.request("/all", { method: "POST", body, duplex: "half" } as RequestInit);
  assert.equal(res.status, 200);
  const whole = parts.join("");
  assert.deepEqual(await res.json(), {
    text: whole,
    json: { a: "bé", b: [1, 2] },
    bytes: new TextEncoder().encode(whole).length,
  });
});

Deno.test("requestBasics() closes the connection only when it answered before the body's end", async () => {
  const a = app([]);
  // Refused by its declared length: the body was never read.
  const declared = await a.request("/echo", {
    method: "POST",
    headers: { "content-length": "17" },
    body: "x".repeat(17),
  });
  assert.equal(declared.status, 413);
  assert.equal(declared.headers.get("connection"), "close");
  // Read to its end first, whatever the route answers next: the connection may be reused.
  const read = await a.request("/fail", { method: "POST", body: "x".repeat(16) });
  await read.body?.cancel();
  assert.equal(read.headers.get("connection"), null);
  const ok = await a.request("/echo", { method: "POST", body: "x".repeat(16) });
  assert.equal(await ok.text(), "x".repeat(16));
  assert.equal(ok.headers.get("connection"), null);
});
