import assert from "node:assert/strict";
import { checkCsrf } from "./csrf.ts";

const req = (method: string, headers: Record<string, string>) => ({
  method,
  header: (n: string) => headers[n.toLowerCase()],
});
const ORIGIN = "https://despacito.example";
const json = { "content-type": "application/json; charset=utf-8" };

Deno.test("checkCsrf() lets reads through and same-origin JSON writes", () => {
  checkCsrf(req("GET", {}), ORIGIN);
  checkCsrf(req("POST", { ...json, "sec-fetch-site": "same-origin" }), ORIGIN);
  checkCsrf(req("DELETE", { ...json, origin: ORIGIN }), ORIGIN);
  checkCsrf(req("POST", json), ORIGIN, { requireProof: false });
});

Deno.test("checkCsrf() refuses cross-site, non-JSON and unproven writes", () => {
  const cases: [string, Record<string, string>, { requireProof?: boolean }?][] = [
    ["POST", { "content-type": "text/plain", "sec-fetch-site": "same-origin" }],
    ["POST", { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN }],
    ["POST", { ...json, "sec-fetch-site": "cross-site", origin: ORIGIN }],
    ["POST", { ...json, "sec-fetch-site": "same-site" }],
    ["PUT", { ...json, origin: "https://evil.example" }],
    ["POST", { ...json, origin: "null" }],
    ["POST", json],
    ["POST", { ...json, "sec-fetch-site": "cross-site" }, { requireProof: false }],
  ];
  for (const [method, headers, options] of cases) {
    assert.throws(() => checkCsrf(req(method, headers), ORIGIN, options), (
      e: Error & {
        code?: string;
      },
    ) => e.code === "csrf_failed", JSON.stringify(headers));
  }
});
