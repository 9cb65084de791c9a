import assert from "node:assert/strict";
import { shown, tagProblem } from "./tag.ts";

Deno.test("tagProblem() accepts ordinary release tags", () => {
  for (const t of ["v1.2.0", "release/2024-05", "1.0.0-rc.1", "v1+build.7", "ünïcode-1"]) {
    assert.equal(tagProblem(t), undefined, t);
  }
});

Deno.test("tagProblem() refuses what a webhook version refuses, and more", () => {
  const bad = [
    "",
    "x".repeat(129),
    "-x",
    "--upload-pack=id",
    "v1\u0000",
    "v1\n",
    "v 1",
    "v1\u202Egnp.exe",
    "v\u200B1",
    "v1\uFEFF",
    "a..b",
    "v1.lock",
    "v1/",
    "v1.",
    ".hidden",
    "v1@{0}",
    "v1~1",
    "v1^",
    "v1:x",
    "v1*",
    "v1[",
    "a\\b",
    "@",
  ];
  for (const t of bad) assert.notEqual(tagProblem(t), undefined, JSON.stringify(t));
  assert.equal(tagProblem("x".repeat(128)), undefined);
});

Deno.test("shown() makes payload values visible and short", () => {
  assert.equal(shown("a\u0000b"), "a\uFFFDb");
  assert.equal(shown("x".repeat(70)), "x".repeat(60) + "…");
});
