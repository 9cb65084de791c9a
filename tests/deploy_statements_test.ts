/**
 * What one deployment costs the database, counted on the wire (a proxy in front of
 * PostgreSQL reads every statement despacito sends): each status change is one
 * statement (its row, its status entry and the log lines said before it), the claim
 * and the outcome one statement each, and a worker that finds the queue empty after
 * a deployment asks once. Issue 14 P2: these counts must not grow back.
 */

import assert from "node:assert/strict";
import { STORE_PATH, withDeployEnv } from "./_harness/deploy_env.ts";
import { logStatements } from "./_harness/pg_statements.ts";

const touches = (s: string, table: string) => new RegExp(`\\b${table}\\b`).test(s);

Deno.test("one deployment: a statement per status change, claim and outcome; one idle claim after", async () => {
  await withDeployEnv({ start: false }, async (env) => {
    const wire = logStatements(env.dbUri);
    try {
      await env.startServer({ DESPACITO_POSTGRES_CONNECTION_URI: wire.uri });
      const before = wire.statements().length;
      const r = await env.webhook({
        package: "webapp",
        version: "1.1.0",
        nix_store_path: STORE_PATH,
        flake_ref: `${env.webapp.url}?ref=refs/tags/v1.1.0`,
      });
      const body = await r.json();
      assert.equal(r.status, 200, JSON.stringify(body));
      assert.equal(body.status, "deployed");
      // After the answer the worker looks for the next deployment (and finds none).
      const claims = () =>
        wire.statements().slice(before).filter((s) => /status = 'queued'/.test(s)).length;
      await env.waitFor(() => Promise.resolve(claims() >= 2));
      const all = wire.statements().slice(before);
      console.log(all.length);
      for (const s of all) console.log("--", s.replace(/\s+/g, " ").slice(0, 160));
    } finally {
      await env.stopServer();
      await wire.close();
    }
  });
});
