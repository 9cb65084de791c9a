/**
 * Every operator command's human and --json output against despacito as
 * it ships, with real deployments (fixture flakes, real git and nix, the
 * fake colmena), signed in as a user through the OAuth flow; and `logs -f`
 * following a deployment across a restart of despacito without gaps or
 * repeats. The CLI runs under its own permission profile.
 */

import assert from "node:assert/strict";
import { createDeployEnv, type DeployEnv, STORE_PATH } from "./_harness/deploy_env.ts";
import { waitFor } from "./_harness/server.ts";
import {
  addUser,
  type CliWorld,
  httpLogin,
  spawnCli,
  storeForCli,
  withCliWorld,
} from "./cli_support.ts";

async function world(fn: (w: CliWorld, d: DeployEnv) => Promise<void>) {
  const d = await createDeployEnv({ start: false });
  try {
    await withCliWorld({ base: d.env }, async (w) => {
      await addUser(w, "alice");
      await storeForCli(w, await httpLogin(w, "alice"));
      await fn(w, d);
    });
    await d.colmena.assertNoOverlap();
  } finally {
    await d.close();
  }
}

/** Runs a command, asserts its exit code, and that human output fits 100 columns. */
async function ok(w: CliWorld, args: string[], code = 0): Promise<string> {
  const r = await w.cli(args);
  assert.equal(r.code, code, `${args.join(" ")} → ${r.code}\n${r.stderr}`);
  // Log lines are the deployment's output as captured, never cut.
  if (!args.includes("--json") && args[0] !== "logs") {
    for (const line of r.stdout.split("\n")) {
      assert.ok([...line].length <= 100, `${args.join(" ")}: wider than 100 columns: ${line}`);
    }
  }
  return r.stdout;
}

async function statusOf(w: CliWorld, id: string): Promise<string> {
  return JSON.parse(await ok(w, ["show", id, "--json"])).status;
}

Deno.test("operator commands: human and --json output against running and finished deployments", async () => {
  await world(async (w, d) => {
    await d.colmena.set({ mode: "hold" });
    const queued = JSON.parse(
      await ok(w, [
        "deploy",
        "webapp",
        "1.1.0",
        "--store-path",
        STORE_PATH,
        "--flake-ref",
        `${d.webapp.url}?ref=refs/tags/v1.1.0`,
        "--no-wait",
        "--json",
      ]),
    );
    assert.equal(queued.status, "queued");
    const id: string = queued.deployment_id;
    await waitFor("running", async () => (await statusOf(w, id)) === "running" || undefined);
    await d.colmena.waitFor((r) => r.length === 1, "colmena to start");

    const status = await ok(w, ["status"]);
    assert.match(status, /^http:\/\/127\.0\.0\.1:\d+: 1 running, 0 queued$/m);
    assert.match(status, new RegExp(`^${id}  webapp +1\\.1\\.0 +running `, "m"));
    assert.match(status, /^PACKAGE +CURRENT +DEPLOYED +LAST$/m);
    assert.match(status, /^api +/m);
    assert.match(status, /^Held: none$/m);
    const sj = JSON.parse(await ok(w, ["status", "--json"]));
    assert.equal(sj.queue.length, 1);
    assert.equal(sj.queue[0].id, id);
    assert.deepEqual(sj.packages.map((p: { name: string }) => p.name).sort(), ["api", "webapp"]);
    assert.deepEqual(sj.held, []);

    const list = await ok(w, ["deployments"]);
    assert.match(list, /^ID +PACKAGE +VERSION +STATUS +CREATED$/m);
    assert.match(list, new RegExp(`^${id}  webapp +1\\.1\\.0 +running `, "m"));
    const lj = JSON.parse(await ok(w, ["deployments", "--package", "webapp", "--json"]));
    assert.deepEqual(lj.deployments.map((x: { id: string }) => x.id), [id]);
    assert.equal(
      JSON.parse(await ok(w, ["deployments", "--status", "failed", "--json"]))
        .deployments.length,
      0,
    );
    const byVersion = async (v: string) =>
      JSON.parse(await ok(w, ["deployments", "--version", v, "--json"])).deployments
        .map((x: { id: string }) => x.id);
    assert.deepEqual(await byVersion("1.1"), [id]);
    assert.deepEqual(await byVersion("9.9"), []);
    const bad = await w.cli(["deployments", "--status", "bogus"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /status: comma list of/);

    const show = await ok(w, ["show", id]);
    assert.match(show, new RegExp(`^id: +${id}$`, "m"));
    assert.match(show, /^status: +running$/m);
    assert.match(show, /^triggered by: +session alice$/m);
    const missing = await w.cli(["show", crypto.randomUUID()]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, "despacito: no such deployment\n");

    await d.colmena.release();
    await waitFor("deployed", async () => (await statusOf(w, id)) === "deployed" || undefined);
    const after = await ok(w, ["status"]);
    assert.match(after, /^NODE +OUTCOME +COMMIT +ACTIVATED +PACKAGES$/m);
    assert.match(after, /^alpha +\S+ +[0-9a-f]{12} +\d{4}-\d\d-\d\d \S+ +.*webapp 1\.1\.0/m);
    const nodes = JSON.parse(await ok(w, ["status", "--json"])).nodes;
    assert.deepEqual(nodes.map((n: { node: string }) => n.node), ["alpha", "beta"]);
    assert.match(after, /^webapp +1\.1\.0 +\d{4}-\d\d-\d\d \S+ +deployed$/m);
    const logs = await ok(w, ["logs", id]);
    assert.match(logs, /Enumerating nodes/);
    const lines = (await ok(w, ["logs", id, "--json"])).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.ok(lines.some((l) => /Activating system profile/.test(l.line)));

    // deploy waits for the outcome: 0 only when deployed.
    await d.colmena.set({ mode: "ok" });
    const done = await w.cli([
      "deploy",
      "webapp",
      "1.2.0",
      "--store-path",
      STORE_PATH,
      "--flake-ref",
      `${d.webapp.url}?ref=refs/tags/v1.2.0`,
    ]);
    assert.equal(done.code, 0, `${done.stderr}\n${done.stdout}`);
    assert.match(done.stdout, /^status: +deployed$/m);
    assert.match(done.stderr, /^deployment [0-9a-f-]{36} queued; waiting/m);
    assert.match(done.stderr, /^\[deployed\]$/m);

    // rollback (the real route): back to what the first deployment installed.
    const back = JSON.parse(await ok(w, ["rollback", "webapp", "--to", id, "--json"]));
    assert.equal(back.status, "queued");
    await waitFor(
      "rolled back",
      async () => (await statusOf(w, back.deployment_id)) === "deployed" || undefined,
    );
    assert.equal(JSON.parse(await ok(w, ["show", back.deployment_id, "--json"])).version, "1.1.0");
    const notHeld = await w.cli(["release", "webapp"]);
    assert.equal(notHeld.code, 1);
    assert.equal(notHeld.stderr, "despacito: webapp is not held\n");

    await d.colmena.set({ mode: "fail", failNode: "beta" });
    const failed = await w.cli(["deploy", "api", "2.0.0", "--store-path", STORE_PATH, "--json"]);
    assert.equal(failed.code, 1, failed.stderr);
    const failedId = JSON.parse(failed.stdout).id;
    assert.equal(JSON.parse(failed.stdout).status, "failed");

    // cancel: running → cancelling; a finished one → exit 1.
    await d.colmena.set({ mode: "hold", failNode: "" });
    await Deno.remove(`${d.colmena.dir}/release`); // left by the first run's release()
    const held = JSON.parse(
      await ok(w, ["deploy", "api", "2.0.0", "--store-path", STORE_PATH, "--no-wait", "--json"]),
    ).deployment_id;
    await waitFor("running", async () => (await statusOf(w, held)) === "running" || undefined);
    assert.match(await ok(w, ["cancel", held]), new RegExp(`^deployment ${held}: cancell`, "m"));
    await waitFor("cancelled", async () => (await statusOf(w, held)) === "cancelled" || undefined);
    const again = await w.cli(["cancel", held, "--json"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already ended/);

    // retry (the real route): the same request again, now succeeding.
    await d.colmena.set({ mode: "ok" });
    const retried = await ok(w, ["retry", failedId]);
    const m = /^retry: api 2\.0\.0, deployment ([0-9a-f-]{36}), queued$/m.exec(retried);
    assert.ok(m, retried);
    await waitFor("retried", async () => (await statusOf(w, m[1])) === "deployed" || undefined);
    const dup = await w.cli(["deploy", "api", "2.0.0", "--store-path", STORE_PATH]);
    assert.equal(dup.code, 1);
    assert.equal(dup.stderr, `despacito: already deployed, deployment ${m[1]}\n`);

    // tokens: create (shown once on stdout), list, revoke — human and --json.
    const token = (await ok(w, ["tokens", "create", "--description", "ci runner"])).trim();
    assert.match(token, /^[0-9a-f]{64}$/);
    const created = JSON.parse(
      await ok(w, ["tokens", "create", "--description", "scoped", "--package", "webapp", "--json"]),
    );
    assert.deepEqual(created.packages, ["webapp"]);
    const tl = await ok(w, ["tokens", "list"]);
    assert.match(tl, /^ID +DESCRIPTION +SCOPE +EXPIRES +STATE$/m);
    assert.match(tl, new RegExp(`^${created.id}  scoped +webapp +never +active$`, "m"));
    assert.match(await ok(w, ["tokens", "revoke", created.id]), /revoked/);
    const tj = JSON.parse(await ok(w, ["tokens", "list", "--json"]));
    assert.ok(tj.tokens.find((t: { id: string }) => t.id === created.id).revoked_at);
    // The new API token works for CI instead of the stored sign-in.
    const ci = await w.cli(["deployments", "--limit", "1", "--json"], {
      DESPACITO_URL: w.url,
      DESPACITO_TOKEN: token,
      XDG_CONFIG_HOME: "/nonexistent",
    });
    assert.equal(ci.code, 0, ci.stderr);
    assert.equal(JSON.parse(ci.stdout).deployments.length, 1);
  });
});

Deno.test("despacito logs -f follows a deployment across a restart of despacito, each line once", async () => {
  await world(async (w, d) => {
    await d.colmena.set({ mode: "step" });
    const id = JSON.parse(
      await ok(w, ["deploy", "webapp", "1.1.0", "--store-path", STORE_PATH, "--no-wait", "--json"]),
    ).deployment_id;
    const follower = spawnCli(w, ["logs", "-f", id]);
    try {
      await d.colmena.allowLines(3);
      await waitFor("three lines", () => /Evaluating alpha/.test(follower.stdout) || undefined);
      // Restart: the stream drops; the deployment finishes during the drain; then despacito is back.
      await w.restart(() => d.colmena.allowLines(1000));
      const status = await follower.child.status;
      await follower.done;
      assert.equal(status.code, 0, follower.stderr);
      assert.match(follower.stderr, /connection lost .*resuming after event \d+/);
      const record = await (await fetch(`${w.url}/api/deployments/${id}/log`, {
        headers: {
          authorization: `Bearer ${
            JSON.parse(await Deno.readTextFile(w.credentialsFile)).access_token
          }`,
        },
      })).text();
      assert.equal(follower.stdout, record, "every line exactly once, in order");
      assert.match(follower.stderr, /^\[deployed\]$/m);
    } finally {
      try {
        follower.child.kill("SIGKILL");
      } catch { /* ended */ }
      await follower.child.status;
      await follower.done;
    }
  });
});
