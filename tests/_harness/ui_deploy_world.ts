/**
 * The browser tests' world with deployments in it: the deploy tests' fixture
 * flakes (real git and nix) and fake colmena, a real despacito child process
 * under its production permission flags pointed at them (with the forge
 * integration on, DESPACITO_BASE_URL being its own address), a bearer token
 * made with the real CLI for the webhook, a local user signed in through the
 * sign-in screen, and a TCP proxy in front of despacito that tests cut to
 * break the browser's connections.
 */

import assert from "node:assert/strict";
import type { BrowserContextOptions } from "playwright-core";
import { createDeployEnv, type DeployEnv, settingsFile } from "./deploy_env.ts";
import { startTcpProxy, type TcpProxy } from "./tcp_proxy.ts";
import { addLocalUser, signedInState, type UiWorld, withUiWorld } from "./ui_world.ts";

export const USER = "alice";
const PASSWORD = "correct horse battery";

export interface DeployUiWorld extends UiWorld {
  /** Fixtures, fake colmena, and `fetch`/`webhook`/`waitDeployment` against the real process. */
  deploy: DeployEnv;
  proxy: TcpProxy;
  signedIn: { storageState: BrowserContextOptions["storageState"] };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * `settings`: a DESPACITO_CONFIG document (per-package checks, on_failure…),
 * written into the fixtures' root; `pins`: inputs declared with a ref.
 */
export async function withDeployUiWorld(
  fn: (w: DeployUiWorld) => Promise<void>,
  options: { settings?: string; remote?: boolean; pins?: Record<string, string> } = {},
) {
  const deploy = await createDeployEnv({
    start: false,
    remote: options.remote,
    pins: options.pins,
  });
  let proxy: TcpProxy | undefined;
  try {
    // The child chooses its own listen address and data dir (spawnDespacito).
    const { DESPACITO_LISTEN: _l, DESPACITO_DATA_DIR: _d, ...env } = deploy.env;
    const port = freePort();
    await withUiWorld({
      port,
      databaseUri: deploy.dbUri,
      env: {
        ...env,
        DESPACITO_LOG_LEVEL: "info",
        DESPACITO_BASE_URL: `http://127.0.0.1:${port}`,
        ...(options.settings
          ? { DESPACITO_CONFIG: await settingsFile(deploy, options.settings) }
          : {}),
      },
    }, async (ui) => {
      deploy.url = ui.server.baseUrl;
      const made = await ui.server.cli([
        "token",
        "create",
        "--description",
        "ci-runner-1",
        "--json",
      ]);
      assert.equal(made.code, 0, made.stderr);
      deploy.token = JSON.parse(made.stdout).token;
      proxy = startTcpProxy({ hostname: "127.0.0.1", port });
      await addLocalUser(ui, USER, PASSWORD);
      const signedIn = { storageState: await signedInState(ui, USER, PASSWORD) };
      await fn({ ...ui, deploy, proxy, signedIn });
    });
  } finally {
    await proxy?.close();
    await deploy.close();
  }
}
