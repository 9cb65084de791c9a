import assert from "node:assert/strict";
import { formatDuration, parseDuration } from "./duration.ts";

Deno.test("parseDuration() reads Go-style durations and days", () => {
  assert.equal(parseDuration("720h"), 720 * 3_600_000);
  assert.equal(parseDuration("90m"), 90 * 60_000);
  assert.equal(parseDuration("1h30m"), 90 * 60_000);
  assert.equal(parseDuration("30d"), 30 * 86_400_000);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("0"), 0);
});

Deno.test("parseDuration() rejects what is not a duration", () => {
  for (const bad of ["", "abc", "10", "10x", "h", "-5m", "5m junk", "1 h"]) {
    assert.equal(parseDuration(bad), undefined, bad);
  }
});

Deno.test("formatDuration() is short and human", () => {
  assert.equal(formatDuration(320), "320ms");
  assert.equal(formatDuration(65_000), "1m 5s");
  assert.equal(formatDuration(3_600_000), "1h");
});
