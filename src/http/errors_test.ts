import assert from "node:assert/strict";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { DomainError, type ErrorKind, invalidRequest } from "../core/errors.ts";
import { createLogger } from "../log/log.ts";
import { errorBody, notFound, onError } from "./errors.ts";
import type { AppEnv } from "./types.ts";

/** An app whose one route throws `err`, logging into `lines`. */
function throwing(err: Error, lines: string[] = []) {
  const log = createLogger({ sink: (l) => lines.push(l) });
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    c.set("log", log);
    await next();
  });
  app.onError(onError);
  app.notFound(notFound);
  app.get("/boom", () => {
    throw err;
  });
  return app;
}

// A Record, so a new ErrorKind without a decision here does not compile.
const STATUS_OF: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  request_timeout: 408,
  too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  unavailable: 503,
};

Deno.test("onError() maps each DomainError kind to its status and the one body shape", async () => {
  for (const [kind, status] of Object.entries(STATUS_OF) as [ErrorKind, number][]) {
    const res = await throwing(new DomainError(kind, `${kind}_code`, "said why")).request("/boom");
    assert.equal(res.status, status, kind);
    assert.deepEqual(await res.json(), { error: { code: `${kind}_code`, message: "said why" } });
  }
});

Deno.test("onError() sends details, extra fields, Retry-After and a Bearer challenge", async () => {
  const invalid = await throwing(invalidRequest([{ field: "package", message: "required" }]))
    .request("/boom");
  const body = await invalid.json();
  assert.deepEqual(body.error.details, [{ field: "package", message: "required" }]);

  const limited = await throwing(
    new DomainError("rate_limited", "rate_limited", "slow down", {
      retryAfter: 1.2,
      extra: { deployment_id: "d1" },
    }),
  ).request("/boom");
  assert.equal(limited.headers.get("retry-after"), "2");
  assert.equal((await limited.json()).deployment_id, "d1");

  const anon = await throwing(new DomainError("unauthenticated", "unauthenticated", "who?"))
    .request("/boom");
  assert.equal(anon.headers.get("www-authenticate"), 'Bearer realm="despacito"');
  await anon.body?.cancel();
});

Deno.test("onError() keeps an HTTPException's status and names a 413", async () => {
  const res = await throwing(new HTTPException(413, { message: "too big" })).request("/boom");
  assert.equal(res.status, 413);
  assert.deepEqual(await res.json(), { error: { code: "payload_too_large", message: "too big" } });
  const other = await throwing(new HTTPException(405)).request("/boom");
  assert.equal(other.status, 405);
  assert.equal((await other.json()).error.code, "http_error");
});

Deno.test("onError() answers anything else with a logged 500 that shows no internals", async () => {
  const lines: string[] = [];
  const res = await throwing(new Error("secret internals at /var/lib/x"), lines).request("/boom");
  assert.equal(res.status, 500);
  const text = await res.text();
  assert.ok(!text.includes("secret internals"), text);
  assert.equal(JSON.parse(text).error.code, "internal_error");
  const logged = lines.map((l) => JSON.parse(l));
  assert.equal(logged.length, 1);
  assert.equal(logged[0].msg, "unhandled error");
  assert.equal(logged[0].level, "error");
  assert.equal(logged[0].path, "/boom");
});

Deno.test("notFound() names the method and path; errorBody() leaves out absent details", async () => {
  const res = await throwing(new Error("unused")).request("/nowhere", { method: "DELETE" });
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), {
    error: { code: "not_found", message: "no route for DELETE /nowhere" },
  });
  assert.deepEqual(errorBody("c", "m"), { error: { code: "c", message: "m" } });
  assert.deepEqual(errorBody("c", "m", []), { error: { code: "c", message: "m", details: [] } });
});
