import assert from "node:assert/strict";
import { createAuthArea } from "../auth/area.ts";
import type { Principal } from "../auth/principal.ts";
import { loadConfig } from "../config/config.ts";
import { openDatabase } from "../db/connect.ts";
import { createApp } from "../http/app.ts";
import { silentLogger } from "../log/log.ts";
import { VERSION_INFO } from "../version.ts";
import { freshDatabase } from "../../tests/_harness/postgres.ts";
import { ASSET_CACHE, createUiArea, INDEX_CACHE, NOT_BUILT_MESSAGE, UI_CSP } from "./area.ts";

const INDEX =
  `<!doctype html><html><head><script type="module" src="/assets/main-0123456789abcdef.js">
</script></head><body><div id="app"></div></body></html>`;
const JS = `console.log(${JSON.stringify("x".repeat(2000))});`;

async function fixtureDist(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "despacito-ui-dist-" });
  await Deno.mkdir(`${dir}/assets`);
  await Deno.writeTextFile(`${dir}/index.html`, INDEX);
  await Deno.writeTextFile(`${dir}/assets/main-0123456789abcdef.js`, JS);
  return dir;
}

async function withApp(
  distDir: string,
  fn: (request: (path: string, init?: RequestInit) => Promise<Response>) => Promise<void>,
) {
  const { uri, drop } = await freshDatabase();
  const config = loadConfig({
    DESPACITO_POSTGRES_CONNECTION_URI: uri,
    DESPACITO_DATA_DIR: distDir,
  });
  const db = await openDatabase({ postgresUri: uri, dataDir: distDir, log: silentLogger });
  try {
    const ctx = { config, log: silentLogger, sql: db.sql, stopping: new AbortController().signal };
    const ui = await createUiArea<Principal>(ctx, { distDir });
    const app = createApp({
      config,
      log: silentLogger,
      sql: db.sql,
      migrations: [],
      version: VERSION_INFO,
      areas: [ui],
      // The real guard: the UI's routes are public, and the test shows it.
      guard: createAuthArea(ctx).guard,
      fallback: ui.fallback,
    });
    await fn(async (path, init) => await app.request(path, init));
  } finally {
    await db.close();
    await drop();
  }
}

Deno.test("UI area serves index.html at / and client routes, no-cache, with a strict CSP", async () => {
  const dist = await fixtureDist();
  await withApp(dist, async (request) => {
    for (const path of ["/", "/deployments/8c1f", "/tokens", "/signin?return_to=%2F"]) {
      const res = await request(path);
      assert.equal(res.status, 200, path);
      assert.equal(await res.text(), INDEX, path);
      assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
      assert.equal(res.headers.get("cache-control"), INDEX_CACHE);
      assert.equal(res.headers.get("content-security-policy"), UI_CSP);
    }
    const csp = UI_CSP.split("; ");
    for (
      const d of [
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "default-src 'none'",
      ]
    ) assert.ok(csp.includes(d), d);
    assert.ok(!UI_CSP.includes("unsafe"), "no unsafe-inline / unsafe-eval");
  });
  await Deno.remove(dist, { recursive: true });
});

Deno.test("UI area serves hashed assets immutable, gzipped on request, 304 on a matching ETag", async () => {
  const dist = await fixtureDist();
  await withApp(dist, async (request) => {
    const path = "/assets/main-0123456789abcdef.js";
    const plain = await request(path);
    assert.equal(plain.status, 200);
    assert.equal(await plain.text(), JS);
    assert.equal(plain.headers.get("cache-control"), ASSET_CACHE);
    assert.equal(plain.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(plain.headers.get("content-encoding"), null);

    const gz = await request(path, { headers: { "accept-encoding": "gzip, br" } });
    assert.equal(gz.headers.get("content-encoding"), "gzip");
    const unzipped = gz.body!.pipeThrough(new DecompressionStream("gzip"));
    assert.equal(await new Response(unzipped).text(), JS);

    const etag = plain.headers.get("etag")!;
    const again = await request(path, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), "");

    const head = await request(path, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  });
  await Deno.remove(dist, { recursive: true });
});

Deno.test("UI area: unknown assets are 404, and the SPA fallback never answers /api, /auth, /webhook, /health or writes", async () => {
  const dist = await fixtureDist();
  await withApp(dist, async (request) => {
    const missing = await request("/assets/main-ffffffffffffffff.js");
    assert.equal(missing.status, 404);
    assert.notEqual(await missing.text(), INDEX);

    for (const path of ["/api/nope", "/api", "/auth/whatever", "/webhook/x", "/health/nope"]) {
      const res = await request(path);
      assert.equal(res.status, 404, path);
      assert.match(res.headers.get("content-type") ?? "", /application\/json/, path);
      assert.equal((await res.json()).error.code, "not_found", path);
    }
    const health = await request("/health");
    assert.equal((await health.json()).status, "ok");

    const post = await request("/deployments", { method: "POST" });
    assert.equal(post.status, 404);
    assert.match(post.headers.get("content-type") ?? "", /application\/json/);
  });
  await Deno.remove(dist, { recursive: true });
});

Deno.test("UI area without a build answers a plain page that says to run `deno task build:ui`", async () => {
  const empty = await Deno.makeTempDir({ prefix: "despacito-ui-none-" });
  await withApp(empty, async (request) => {
    const res = await request("/");
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
    const text = await res.text();
    assert.equal(text, NOT_BUILT_MESSAGE);
    assert.match(text, /deno task build:ui/);
    assert.equal((await request("/health")).status, 200);
  });
  await Deno.remove(empty, { recursive: true });
});
