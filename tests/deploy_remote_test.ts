/**
 * The flake's remote (README, "The flake's remote"): a bare repository as
 * DESPACITO_FLAKE_REMOTE, real git and nix, despacito as it ships, the fake
 * colmena with its overlap check.
 */

import assert from "node:assert/strict";
import { createDeployEnv, type DeployEnv, STORE_PATH } from "./_harness/deploy_env.ts";
import { git } from "./_harness/flakes.ts";

// The webhook's waiting request and the server's subprocess outlive single steps of a test.
const opts = { sanitizeResources: false, sanitizeOps: false };
const body = (version: string) => ({
  package: "webapp",
  version,
  nix_store_path: STORE_PATH,
});

async function deploy(env: DeployEnv, version: string) {
  const r = await env.webhook({
    ...body(version),
    flake_ref: `${env.webapp.url}?ref=refs/tags/v${version}`,
  });
  const b = await r.json();
  const d = await (await env.fetch(`/api/deployments/${b.deployment_id}`)).json();
  return { status: r.status, body: b, d };
}

Deno.test(
  "a fresh flake dir is cloned at start; the deploy commit is pushed and the deployment says so",
  opts,
  async () => {
    const env = await createDeployEnv({ remote: true });
    try {
      const remote = env.remote!;
      assert.equal(await env.flake.head(), await remote.head());
      const url = (await git(env.flake.dir, "remote", "get-url", "origin")).trim();
      assert.equal(url, remote.url);

      const { status, d } = await deploy(env, "1.1.0");
      assert.equal(status, 200, JSON.stringify(d));
      assert.equal(d.status, "deployed");
      assert.equal(d.pushed, true);
      assert.equal(await remote.head(), d.commit_sha);
      assert.equal(await env.flake.head(), d.commit_sha);
      assert.deepEqual((await remote.log()).slice(0, 2), ["deploy webapp 1.1.0", "lock inputs"]);

      const ready = await (await env.fetch("/health/ready")).json();
      assert.deepEqual(ready.flake_remote, {
        url: remote.url,
        branch: "main",
        unpushed_commits: 0,
        behind: false,
        last_error: null,
      });
    } finally {
      await env.close();
    }
  },
);
