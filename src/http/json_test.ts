import assert from "node:assert/strict";
import { Hono } from "hono";
import { onError } from "./errors.ts";
import { readJsonObject } from "./json.ts";
import type { AppEnv } from "./types.ts";

const app = () => {
  const a = new Hono<AppEnv>();
  a.onError(onError);
  a.post("/", async (c) => c.json(await readJsonObject(c, ["package", "version"])));
  return a;
};

const post = (body: string, type = "application/json; charset=utf-8") =>
  app().request("/", { method: "POST", body, headers: { "content-type": type } });

Deno.test("readJsonObject() returns an object whose keys are all allowed", async () => {
  const res = await post(`{"package":"web","version":"1.0"}`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { package: "web", version: "1.0" });
});

Deno.test("readJsonObject() refuses an empty, malformed or non-object body with a 400", async () => {
  for (
    const [body, code] of [
      ["", "invalid_json"],
      ["  \n", "invalid_json"],
      ["{", "invalid_json"],
      ["[1]", "invalid_json"],
      ["null", "invalid_json"],
      ['"text"', "invalid_json"],
    ]
  ) {
    const res = await post(body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal((await res.json()).error.code, code, JSON.stringify(body));
  }
});

Deno.test("readJsonObject() lists every unknown field", async () => {
  const res = await post(`{"package":"web","pakage":"x","extra":1}`);
  assert.equal(res.status, 400);
  const { error } = await res.json();
  assert.equal(error.code, "invalid_request");
  assert.deepEqual(error.details, [
    { field: "pakage", message: "unknown field" },
    { field: "extra", message: "unknown field" },
  ]);
});

Deno.test("readJsonObject() answers 415 to a body not declared application/json", async () => {
  for (const type of ["text/plain", "application/x-www-form-urlencoded", ""]) {
    const res = await post(`{"package":"web"}`, type);
    assert.equal(res.status, 415, type);
    assert.equal((await res.json()).error.code, "unsupported_media_type");
  }
});

Deno.test("readJsonObject() names every field holding a control, bidi or zero-width character", async () => {
  const res = await post(JSON.stringify({ package: "we\u202eb", version: "1.0\u0000" }));
  assert.equal(res.status, 400);
  const { error } = await res.json();
  assert.deepEqual(error.details.map((d: { field: string }) => d.field), ["package", "version"]);
});
