import assert from "node:assert/strict";
import { absoluteTime, formatDuration, formatWait, relativeTime, shortTime } from "./time.ts";

const now = Date.parse("2025-06-01T12:00:00Z");

Deno.test("relativeTime() says how long ago in the largest fitting unit", () => {
  assert.equal(relativeTime("2025-06-01T11:59:55Z", now, "en"), "just now");
  assert.equal(relativeTime("2025-06-01T11:57:00Z", now, "en"), "3 minutes ago");
  assert.equal(relativeTime("2025-06-01T10:00:00Z", now, "en"), "2 hours ago");
  assert.equal(relativeTime("2025-05-31T12:00:00Z", now, "en"), "yesterday");
  assert.equal(relativeTime("2025-06-01T12:05:00Z", now, "en"), "in 5 minutes");
  assert.equal(relativeTime("not a time", now, "en"), "not a time");
});

Deno.test("absoluteTime() shows the given zone and names it", () => {
  assert.match(absoluteTime("2025-06-01T12:00:00Z", "en-GB", "Europe/Berlin"), /14:00:00 CEST$/);
  assert.match(absoluteTime("2025-06-01T12:00:00Z", "en-US", "UTC"), /12:00:00 PM UTC$/);
});

Deno.test("formatDuration() picks a readable unit", () => {
  assert.equal(formatDuration(null), "—");
  assert.equal(formatDuration(420), "420 ms");
  assert.equal(formatDuration(4200), "4.2 s");
  assert.equal(formatDuration(42_000), "42 s");
  assert.equal(formatDuration(125_000), "2 min 5 s");
  assert.equal(formatDuration(3_723_000), "1 h 2 min");
});

Deno.test("formatWait() counts down in minutes and seconds", () => {
  assert.equal(formatWait(0), "0 s");
  assert.equal(formatWait(41.2), "42 s");
  assert.equal(formatWait(60), "1 min");
  assert.equal(formatWait(299), "4 min 59 s");
  assert.equal(formatWait(300), "5 min");
});

Deno.test("shortTime() writes the clock time today, the day this year, the year before", () => {
  const z = "Europe/Berlin";
  assert.equal(shortTime("2025-06-01T09:30:00Z", now, "en-GB", z), "11:30");
  assert.equal(shortTime("2025-05-28T09:30:00Z", now, "en-GB", z), "28 May, 11:30");
  assert.equal(shortTime("2024-12-24T09:30:00Z", now, "en-GB", z), "24 Dec 2024");
  // Midnight in Berlin is still the previous day in UTC: the zone decides what "today" is.
  assert.equal(shortTime("2025-05-31T22:30:00Z", now, "en-GB", z), "00:30");
  assert.equal(shortTime("garbage", now, "en-GB", z), "garbage");
});
