/**
 * Misconfiguration shows at start and in /health/ready, not in the middle
 * of a deployment: a colmena that is not there, a flake dir without
 * flake.lock. No commit is made before the program that would use it is
 * known to run.
 */

import assert from "node:assert/strict";
import { STORE_PATH, withDeployEnv } from "./_harness/deploy_env.ts";

Deno.test(
  "no colmena on the configured path: /health/ready says so and a deployment fails before any commit",
  async () => {
    await withDeployEnv({ start: false }, async (env) => {
      await env.startServer({ DESPACITO_COLMENA_BIN: `${env.root}/no-such-colmena` });
      const ready = await fetch(`${env.url}/health/ready`);
      assert.equal(ready.status, 503);
      const body = await ready.json();
      assert.match(body.reason, /colmena \(.*no-such-colmena\) cannot be run/);
      assert.ok(
        env.logs.some((l) => l.includes("deployments cannot run: colmena")),
        "logged at start",
      );

      const head = await env.flake.head();
      const r = await env.webhook({
        package: "webapp",
        version: "1.1.0",
        nix_store_path: STORE_PATH,
        flake_ref: `${env.webapp.url}?ref=refs/tags/v1.1.0`,
      });
      assert.equal(r.status, 500);
      const b = await r.json();
      assert.match(b.error, /^refusing to deploy: colmena/);
      assert.equal(await env.flake.head(), head, "no deploy commit, no revert commit");
      assert.equal(await env.flake.status(), "");
    });
  },
);

Deno.test(
  "a flake dir without flake.lock: /health/ready names the missing file",
  async () => {
    await withDeployEnv({ start: false }, async (env) => {
      await Deno.remove(`${env.flake.dir}/flake.lock`);
      await env.startServer();
      const ready = await fetch(`${env.url}/health/ready`);
      assert.equal(ready.status, 503);
      assert.match((await ready.json()).reason, /\/flake\.lock is missing/);
    });
  },
);
