/** README's operations section names every metric and every audit action the code has. */

import assert from "node:assert/strict";
import { AUDIT_ACTIONS } from "../core/audit.ts";
import type { Sql } from "../db/connect.ts";
import { createMetrics } from "./metrics.ts";

const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));

Deno.test("README documents every metric createMetrics() registers", async () => {
  // No scrape happens here, so the database handle is never used.
  const m = createMetrics({
    sql: undefined as unknown as Sql,
    version: { version: "0", commit: "x" },
    poolSize: 1,
  });
  const names = (await m.registry()).getMetricsAsArray().map((x) => x.name);
  assert.ok(names.length >= 15);
  const missing = names.filter((n) => !readme.includes(`\`${n}\``));
  assert.deepEqual(missing, [], "metrics README does not name");
});

Deno.test("README documents every audit action", () => {
  const missing = AUDIT_ACTIONS.filter((a) => !readme.includes(`\`${a}\``));
  assert.deepEqual(missing, []);
});
