/**
 * The deployment page's Notifications section in real Chromium against a
 * real despacito (child process, production flags, real PostgreSQL, real
 * git and nix, fake colmena): a target that is down shows as failed with
 * its error after its attempts; a working target shows delivered.
 */

import assert from "node:assert/strict";
import { screenshot } from "./_harness/chromium.ts";
import { createDeployEnv, STORE_PATH } from "./_harness/deploy_env.ts";
import { addLocalUser, newPage, signedInState, withUiWorld } from "./_harness/ui_world.ts";

const PASSWORD = "correct horse battery";

Deno.test("deployment page lists its notifications: delivered and failed, with the error", async () => {
  const deploy = await createDeployEnv({ start: false });
  const receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      await req.body?.cancel();
      return new Response(null, { status: 204 });
    },
  );
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const rxPort = (receiver.addr as Deno.NetAddr).port;
  const configFile = `${deploy.root}/despacito.yaml`;
  await Deno.writeTextFile(
    configFile,
    `notifications:
  - { name: phone, type: ntfy, url: "http://127.0.0.1:${rxPort}/deploys", events: [deployed] }
  - { name: pager, type: ntfy, url: "http://127.0.0.1:${deadPort}/deploys", events: [deployed] }
`,
  );
  try {
    const { DESPACITO_LISTEN: _l, DESPACITO_DATA_DIR: _d, ...env } = deploy.env;
    await withUiWorld({
      databaseUri: deploy.dbUri,
      env: {
        ...env,
        DESPACITO_CONFIG: configFile,
        DESPACITO_NOTIFY_ATTEMPTS: "2",
        DESPACITO_NOTIFY_BACKOFF: "100ms",
      },
    }, async (w) => {
      const made = await w.server.cli(["token", "create", "--description", "ci", "--json"]);
      const token = JSON.parse(made.stdout).token;
      const r = await fetch(`${w.server.baseUrl}/webhook`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({
          package: "webapp",
          version: "1.1.0",
          nix_store_path: STORE_PATH,
          flake_ref: `${deploy.webapp.url}?ref=refs/tags/v1.1.0`,
        }),
      });
      const body = await r.json();
      assert.equal(r.status, 200, JSON.stringify(body));
      await addLocalUser(w, "alice", PASSWORD);
      const { page } = await newPage(w, {
        storageState: await signedInState(w, "alice", PASSWORD),
      });
      await page.goto(`/deployments/${body.deployment_id}`);
      const section = page.getByRole("region", { name: "Notifications" });
      await section.locator("li", { hasText: "phone" }).locator(".badge", { hasText: "delivered" })
        .waitFor();
      const pager = section.locator("li", { hasText: "pager" });
      await pager.locator(".badge", { hasText: "failed" }).waitFor({ timeout: 20_000 });
      assert.match(await pager.innerText(), /2 attempts/);
      assert.match(await pager.locator(".error-text").innerText(), /onnection refused/);
      await screenshot(page, "deployment-notifications");
    });
  } finally {
    await receiver.shutdown();
    await deploy.close();
  }
});
