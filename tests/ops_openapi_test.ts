/**
 * GET /api/openapi.json: generated from the route table of the server as it
 * ships (real process, production flags, every optional area configured),
 * valid OpenAPI 3.1 by a real validator (@seriousme/openapi-schema-validator),
 * one operation per route with no route lacking a schema, and real
 * responses of the running server conforming to the schemas it documents
 * (Ajv, JSON Schema 2020-12).
 */

import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { buildOpenApi } from "../src/ops/openapi.ts";
import type { RouteDef } from "../src/http/types.ts";
import { responseChecker, startOps } from "./ops_support.ts";

/** A port nothing listens on: the configured issuer is never reached. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

// deno-lint-ignore no-explicit-any
type Doc = any;

Deno.test("GET /api/openapi.json is valid OpenAPI 3.1 covering every route, and responses match it", async () => {
  const h = await startOps({
    DESPACITO_OIDC_ISSUER_URLS: `http://127.0.0.1:${freePort()}`,
    DESPACITO_OIDC_CLIENT_ID: "openapi",
    DESPACITO_OIDC_ALLOW_HTTP: "true",
    DESPACITO_BASE_URL: "https://despacito.example",
  });
  try {
    const r = await h.call("GET", "/api/openapi.json");
    assert.equal(r.status, 200);
    const doc: Doc = r.body;
    assert.equal(doc.openapi, "3.1.0");
    assert.deepEqual(doc["x-missing-schemas"], [], "routes without a schema in api_schemas.ts");

    const result = await new Validator().validate(doc);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));

    // One operation per route of the running server (the auth matrix lists the same table).
    const ops = Object.entries(doc.paths).flatMap(([p, item]) =>
      Object.keys(item as object).map((m) => `${m.toUpperCase()} ${p}`)
    ).sort();
    for (
      const expected of [
        "GET /api/audit",
        "GET /api/deployments/{id}",
        "POST /webhook",
        "POST /webhook/forgejo/{id}",
        "GET /auth/callback",
        "GET /metrics",
        "DELETE /api/tokens/{id}",
      ]
    ) assert.ok(ops.includes(expected), `${expected} missing from ${ops.join(", ")}`);
    const webhook = doc.paths["/webhook"].post;
    assert.deepEqual(webhook.security, [{ bearer: [] }]);
    assert.equal(webhook["x-despacito-access"], "token");
    assert.ok(webhook.responses["401"] && webhook.responses["400"] && webhook.responses["429"]);
    assert.deepEqual(doc.paths["/api/audit"].get.security, [{ bearer: [] }, { session: [] }]);
    assert.deepEqual(doc.paths["/health"].get.security, []);

    // Real answers of this server conform to what the document promises.
    const check = responseChecker(doc);
    const token = await h.token();
    const made = await h.call("POST", "/api/tokens", { token, body: { description: "schema" } });
    check("post", "/api/tokens", 201, made.body);
    const reads: [string, string][] = [
      ["/health", "/health"],
      ["/health/ready", "/health/ready"],
      ["/api/tokens", "/api/tokens"],
      ["/api/me", "/api/me"],
      ["/api/auth/methods", "/api/auth/methods"],
      ["/api/oidc/providers", "/api/oidc/providers"],
      ["/.well-known/oauth-authorization-server", "/.well-known/oauth-authorization-server"],
      ["/api/cli-sessions", "/api/cli-sessions"],
      ["/api/repositories", "/api/repositories"],
      ["/api/deployments", "/api/deployments"],
      ["/api/packages", "/api/packages"],
      ["/api/health/load", "/api/health/load"],
      ["/api/audit", "/api/audit"],
      ["/api/audit/verify", "/api/audit/verify"],
      ["/api/nodes", "/api/nodes"],
    ];
    for (const [url, path] of reads) {
      const res = await h.call("GET", url, { token });
      assert.equal(res.status, 200, `${url}: ${res.text}`);
      check("get", path, 200, res.body);
    }
    const missing = await h.call("GET", "/api/deployments/nope", { token });
    check("get", "/api/deployments/{id}", 404, missing.body);
    const notHeld = await h.call("POST", "/api/packages/webapp/release", { token });
    assert.equal(notHeld.status, 404);
    check("post", "/api/packages/{name}/release", 404, notHeld.body);
  } finally {
    await h.close();
  }
});

Deno.test("buildOpenApi() lists a route without a schema under x-missing-schemas", async () => {
  const route: RouteDef<unknown> = {
    method: "POST",
    path: "/api/brand-new/:id",
    access: "manage",
    summary: "a route someone forgot to describe",
    handler: (c) => c.json({}),
  };
  const doc = buildOpenApi([route], "0.0.0") as { "x-missing-schemas": string[] };
  assert.deepEqual(doc["x-missing-schemas"], ["POST /api/brand-new/:id"]);
  // The validator is no rubber stamp: a document without info is refused.
  const broken = await new Validator().validate({ openapi: "3.1.0", paths: {} });
  assert.equal(broken.valid, false);
});
