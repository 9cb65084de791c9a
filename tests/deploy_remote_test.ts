/**
 * The flake's remote (README, "The flake's remote"): a bare repository as
 * DESPACITO_FLAKE_REMOTE, real git and nix, despacito as it ships, the fake
 * colmena with its overlap check.
 */

import assert from "node:assert/strict";
import { type DeployEnv, STORE_PATH, withDeployEnv } from "./_harness/deploy_env.ts";
import { git } from "./_harness/flakes.ts";

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
  async () => {
    await withDeployEnv({ remote: true }, async (env) => {
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
    });
  },
);

/** A colleague's change, pushed while despacito's `nix flake lock` runs (after preflight's fetch). */
async function pushDuringLock(env: DeployEnv, change: string, message: string) {
  const hook = `${env.root}/colleague-hook`;
  const team = env.remote!.team.dir;
  await Deno.writeTextFile(
    hook,
    [
      "#!/bin/sh",
      "set -e",
      `cd '${team}'`,
      "git pull -q --ff-only",
      change,
      "git add -A",
      `git -c user.name=Colleague -c user.email=colleague@example.com commit -q -m '${message}'`,
      "git push -q origin main",
    ].join("\n") + "\n",
    { mode: 0o755 },
  );
  const wrapper = `${env.root}/nix-wrapper`;
  await Deno.writeTextFile(
    wrapper,
    [
      "#!/bin/sh",
      `case "$*" in *"flake lock"*) if [ -f '${hook}' ]; then '${hook}' >&2; rm -f '${hook}'; fi;; esac`,
      'exec nix "$@"',
    ].join("\n") + "\n",
    { mode: 0o755 },
  );
  return wrapper;
}

Deno.test(
  "a hive change pushed by someone else is fast-forwarded before the deployment and the deploy commit sits on it",
  async () => {
    await withDeployEnv({ remote: true }, async (env) => {
      const remote = env.remote!;
      await Deno.writeTextFile(`${remote.team.dir}/hosts.nix`, "{ gamma = { }; }\n");
      const colleague = await remote.commitAndPush("add host gamma");
      const { d } = await deploy(env, "1.1.0");
      assert.equal(d.status, "deployed", d.error);
      assert.equal((await git(env.flake.dir, "rev-parse", `${d.commit_sha}^`)).trim(), colleague);
      assert.equal(await Deno.readTextFile(`${env.flake.dir}/hosts.nix`), "{ gamma = { }; }\n");
      assert.equal(await remote.head(), d.commit_sha);
      const log = await (await env.fetch(`/api/deployments/${d.id}/log`)).text();
      assert.match(log, new RegExp(`fast-forwarded to origin/main ${colleague}`));
    });
  },
);

Deno.test(
  "diverged history is refused before anything is touched, naming both heads",
  async () => {
    await withDeployEnv({ remote: true }, async (env) => {
      const remote = env.remote!;
      // A hand edit on the server, committed there, while the team pushed something else.
      await Deno.writeTextFile(`${env.flake.dir}/local.nix`, "{ }\n");
      await git(env.flake.dir, "add", "local.nix");
      await git(env.flake.dir, "commit", "-q", "-m", "hand edit on the server");
      const local = await env.flake.head();
      await Deno.writeTextFile(`${remote.team.dir}/hosts.nix`, "{ }\n");
      const theirs = await remote.commitAndPush("add hosts");
      const runs = (await env.colmena.runs()).length;

      const { status, d } = await deploy(env, "1.1.0");
      assert.equal(status, 500);
      assert.equal(d.status, "failed");
      assert.equal(d.failure_code, "remote_diverged");
      assert.match(d.error, new RegExp(`local ${local}, origin/main ${theirs}`));
      assert.equal(d.commit_sha, null);
      assert.equal(await env.flake.head(), local);
      assert.equal(await remote.head(), theirs);
      assert.equal((await env.colmena.runs()).length, runs);
    });
  },
);

Deno.test(
  "a failed deployment's revert is pushed too",
  async () => {
    await withDeployEnv({ remote: true }, async (env) => {
      await env.colmena.set({ failNode: "beta" });
      const { d } = await deploy(env, "1.1.0");
      assert.equal(d.status, "failed");
      assert.equal(d.pushed, true);
      assert.equal(await env.remote!.head(), d.revert_sha);
      assert.deepEqual((await env.remote!.log()).slice(0, 2), [
        "revert deploy webapp 1.1.0",
        "deploy webapp 1.1.0",
      ]);
      assert.equal(await env.flake.status(), "");
    });
  },
);

Deno.test(
  "the remote moved during the deployment: the lock commit is rebased onto it and pushed",
  async () => {
    await withDeployEnv({ remote: true, start: false }, async (env) => {
      const wrapper = await pushDuringLock(env, "echo '{ }' > hosts.nix", "add hosts");
      await env.startServer({ DESPACITO_NIX_BIN: wrapper });
      const { d } = await deploy(env, "1.1.0");
      assert.equal(d.status, "deployed", d.error);
      const colleague = await env.remote!.team.head();
      assert.deepEqual((await env.remote!.log()).slice(0, 2), ["deploy webapp 1.1.0", "add hosts"]);
      assert.equal(await env.remote!.head(), d.commit_sha);
      assert.equal((await git(env.flake.dir, "rev-parse", `${d.commit_sha}^`)).trim(), colleague);
      // What was activated is the rebased commit: the colleague's change and the new lock.
      const alpha = await env.colmena.node("alpha");
      assert.equal(alpha?.revs.webapp, await env.flake.lockedRev("webapp"));
      assert.equal(await env.flake.lockedRev("webapp"), env.webapp.tags["v1.1.0"]);
    });
  },
);

Deno.test(
  "a colleague changed the same input's lock meanwhile: the deployment fails before activation, the remote's lock stands",
  async () => {
    await withDeployEnv({ remote: true, start: false }, async (env) => {
      const ref = `${env.webapp.url}?ref=refs/tags/v1.2.0`;
      const wrapper = await pushDuringLock(
        env,
        `nix --extra-experimental-features 'nix-command flakes' flake lock --override-input webapp '${ref}'`,
        "bump webapp by hand",
      );
      await env.startServer({ DESPACITO_NIX_BIN: wrapper });
      const runs = (await env.colmena.runs()).length;
      const { status, d } = await deploy(env, "1.1.0");
      assert.equal(status, 500);
      assert.equal(d.status, "failed");
      assert.equal(d.failure_code, "remote_conflict");
      assert.match(
        d.error,
        /cannot rebase onto origin\/main [0-9a-f]{40}: it changed the same lines/,
      );
      assert.equal(d.commit_sha, null);
      assert.equal(d.revert_sha, null);
      assert.equal((await env.colmena.runs()).length, runs, "nothing was activated");
      assert.equal(await env.flake.head(), await env.remote!.head());
      assert.equal(await env.flake.lockedRev("webapp"), env.webapp.tags["v1.2.0"]);
      assert.equal(await env.flake.status(), "");
      assert.equal((await env.remote!.log())[0], "bump webapp by hand");
    });
  },
);

Deno.test(
  "the remote is unreachable: the outcome is kept, /health/ready says the remote is behind, the next deployment pushes it first",
  async () => {
    await withDeployEnv({ remote: true }, async (env) => {
      const remote = env.remote!;
      const before = await remote.head();
      await remote.breakRemote();
      const first = (await deploy(env, "1.1.0")).d;
      assert.equal(first.status, "deployed", first.error);
      assert.equal(first.pushed, false);
      const ready = await env.fetch("/health/ready");
      assert.equal(ready.status, 200);
      const r = (await ready.json()).flake_remote;
      assert.equal(r.behind, true);
      assert.equal(r.unpushed_commits, 1);
      assert.match(r.last_error, /^git push exited with 128: .*the repository exists/);

      await remote.restore();
      assert.equal(await remote.head(), before);
      const second = (await deploy(env, "1.2.0")).d;
      assert.equal(second.status, "deployed", second.error);
      assert.equal(second.pushed, true);
      assert.deepEqual((await remote.log()).slice(0, 3), [
        "deploy webapp 1.2.0",
        "deploy webapp 1.1.0",
        "lock inputs",
      ]);
      const again = await (await env.fetch(`/api/deployments/${first.id}`)).json();
      assert.equal(again.pushed, true);
      assert.equal(again.commit_sha, (await git(remote.url, "rev-parse", "main^")).trim());
      const ok = (await (await env.fetch("/health/ready")).json()).flake_remote;
      assert.equal(ok.behind, false);
      assert.equal(ok.last_error, null);
    });
  },
);

Deno.test(
  "DESPACITO_GIT_SIGNING_KEY_FILE: despacito's commits are signed and verify with git verify-commit",
  async () => {
    await withDeployEnv({ remote: true, start: false }, async (env) => {
      const key = `${env.root}/signing_key`;
      const keygen = await new Deno.Command("ssh-keygen", {
        args: ["-q", "-t", "ed25519", "-N", "", "-C", "despacito", "-f", key],
      }).output();
      assert.equal(keygen.code, 0);
      const pub = (await Deno.readTextFile(`${key}.pub`)).trim();
      const allowed = `${env.root}/allowed_signers`;
      await Deno.writeTextFile(allowed, `despacito@localhost namespaces="git" ${pub}\n`);
      await env.startServer({ DESPACITO_GIT_SIGNING_KEY_FILE: key });
      await env.colmena.set({ failNode: "beta" });
      const { d } = await deploy(env, "1.1.0");
      assert.equal(d.status, "failed");
      for (const sha of [d.commit_sha, d.revert_sha]) {
        const v = await new Deno.Command("git", {
          args: ["-c", `gpg.ssh.allowedSignersFile=${allowed}`, "verify-commit", sha],
          cwd: env.remote!.url,
          stderr: "piped",
        }).output();
        const err = new TextDecoder().decode(v.stderr);
        assert.equal(v.code, 0, err);
        assert.match(err, /Good "git" signature for despacito@localhost/);
      }
    });
  },
);

Deno.test(
  "a flake dir cloned from another remote is refused at start",
  async () => {
    await withDeployEnv({ remote: true, start: false }, async (env) => {
      await git(env.root, "clone", "-q", env.remote!.team.dir, env.flake.dir);
      await assert.rejects(
        () => env.startServer(),
        new RegExp(
          `is a clone of ${env.remote!.team.dir}, not of DESPACITO_FLAKE_REMOTE ${env.remote!.url}`,
        ),
      );
    });
  },
);

Deno.test(
  "restart after kill -9 mid-activation: recovery reverts the pushed commit and pushes the revert",
  async () => {
    await withDeployEnv({ remote: true }, async (env) => {
      await env.colmena.set({ mode: "hang" });
      const first = await (await env.webhook({
        ...body("1.1.0"),
        flake_ref: `${env.webapp.url}?ref=refs/tags/v1.1.0`,
      }, "?wait=false")).json();
      await env.colmena.waitFor((r) => r.length === 1, "colmena to start");
      await env.waitFor(async () =>
        (await (await env.fetch(`/api/deployments/${first.deployment_id}/log`)).text())
          .includes("hanging")
      );
      assert.equal((await env.remote!.log())[0], "deploy webapp 1.1.0");
      await env.killServer();
      await env.colmena.set({ mode: "ok" });
      await env.startServer();
      const d = await env.waitDeployment(first.deployment_id, (d) => d.status === "interrupted");
      assert.equal(d.rollback.status, "ok");
      assert.equal(d.pushed, true);
      assert.equal(await env.remote!.head(), d.revert_sha);
      assert.deepEqual((await env.remote!.log()).slice(0, 2), [
        "revert deploy webapp 1.1.0",
        "deploy webapp 1.1.0",
      ]);
    });
  },
);
