/**
 * Two despacito instances on one PostgreSQL database and one flake remote
 * (DESPACITO_HA), both started as they ship: the lease holder runs the
 * deployments, the other serves, streams the leader's logs and takes over
 * after a kill -9 of the leader. The fake colmena fails the test on any
 * overlapping run.
 */

import assert from "node:assert/strict";
import {
  CANARY_FLEET,
  CANARY_STAGES,
  createDeployEnv,
  type DeployEnv,
  settingsFile,
  STORE_PATH,
} from "./_harness/deploy_env.ts";
import { git } from "./_harness/flakes.ts";
import { type ServerProcess, spawnServer, waitFor } from "./_harness/server.ts";

const HA = { DESPACITO_HA: "true", DESPACITO_INSTANCE_NAME: "a" };

/** The second instance: same database and remote, its own data dir and flake clone. */
async function startB(env: DeployEnv, extra: Record<string, string> = {}): Promise<ServerProcess> {
  return await spawnServer({
    env: {
      ...env.env,
      ...HA,
      ...extra,
      DESPACITO_INSTANCE_NAME: "b",
      DESPACITO_DATA_DIR: `${env.root}/data-b`,
      DESPACITO_FLAKE_DIR: `${env.root}/flake-b`,
    },
  });
}

/** Instance a (leader, started first) and b (follower) on one database and remote; both stopped after. */
async function withTwoInstances(fn: (env: DeployEnv, b: ServerProcess) => Promise<void>) {
  const env = await createDeployEnv({ remote: true, extraEnv: HA });
  let b: ServerProcess | undefined;
  try {
    await env.waitFor(async () => (await ready(env.url)).role === "leader");
    b = await startB(env);
    await fn(env, b);
  } finally {
    await b?.stop();
    await env.close();
  }
}

const call = (url: string, env: DeployEnv, path: string, init: RequestInit = {}) =>
  fetch(`${url}${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${env.token}`, ...init.headers },
  });

const ready = async (url: string) => await (await fetch(`${url}/health/ready`)).json();

/** POST /webhook for webapp `version` (its release tag) at the instance `url`. */
const hookAt = (url: string, env: DeployEnv, version: string, wait = true) =>
  call(url, env, `/webhook${wait ? "" : "?wait=false"}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      package: "webapp",
      version,
      nix_store_path: STORE_PATH,
      flake_ref: `${env.webapp.url}?ref=refs/tags/v${version}`,
    }),
  });

Deno.test(
  "two instances: both serve, the leader runs a deployment asked of the follower, whose runner and SSE see it",
  async () => {
    await withTwoInstances(async (env, b) => {
      const rb = await ready(b.url);
      assert.equal(rb.status, "ready");
      assert.deepEqual([rb.instance, rb.leader, rb.role], ["b", "a", "follower"]);

      const answer = hookAt(b.url, env, "1.1.0");
      const res = await answer;
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.status, "deployed");
      // The leader ran it (only its log has the run), and the remote has the commit.
      const id = body.deployment_id;
      assert.ok(env.logs.some((l) => l.includes(id) && l.includes("deployed webapp 1.1.0")));
      assert.ok(!b.stdout.some((l) => l.includes("deployed webapp 1.1.0")));
      const d = await (await call(b.url, env, `/api/deployments/${id}`)).json();
      assert.equal(await env.remote!.head(), d.commit_sha);
      // The follower's clone follows the remote after the leader's deployment.
      await env.waitFor(async () =>
        (await git(`${env.root}/flake-b`, "rev-parse", "HEAD")).trim() === d.commit_sha
      );

      // SSE on the follower, live: the next deployment's lines arrive while the leader runs it.
      await env.colmena.set({ mode: "step" });
      const queued = await (await hookAt(b.url, env, "1.2.0", false)).json();
      const sse = await call(b.url, env, `/api/deployments/${queued.deployment_id}/events`);
      assert.equal(sse.status, 200);
      const reader = sse.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      const until = async (what: string) => {
        const deadline = Date.now() + 30_000;
        while (!text.includes(what)) {
          assert.ok(Date.now() < deadline, `SSE on the follower never showed ${what}: ${text}`);
          const { value, done } = await reader.read();
          if (done) break;
          text += value;
        }
      };
      await env.colmena.waitFor((r) => r.length === 2, "the second colmena run");
      await env.colmena.allowLines(1);
      await until("colmena");
      await env.colmena.allowLines(1000);
      await until("event: end");
      await reader.cancel();
      assert.match(text, /deployed webapp 1\.2\.0/);
    });
  },
);

Deno.test(
  "kill -9 of the leader mid-deployment: the follower takes over, recovers like a restart, runs the queue; its waiting runner gets the answer",
  async () => {
    await withTwoInstances(async (env, b) => {
      await env.colmena.set({ mode: "hang" });
      // Asked of the follower and waited for there.
      const waiting = hookAt(b.url, env, "1.1.0");
      await env.colmena.waitFor((r) => r.length === 1, "colmena to start on the leader");
      assert.equal((await env.remote!.log())[0], "deploy webapp 1.1.0");
      const second = await (await call(b.url, env, "/webhook?wait=false", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          package: "api",
          version: "2.0.1",
          nix_store_path: STORE_PATH,
        }),
      })).json();
      assert.equal(second.status, "queued", JSON.stringify(second));

      await env.killServer();
      // Host loss takes the leader's colmena with it (on a live host, systemd's control group
      // does): end the survivor here, as the dead host would have.
      const orphan = (await Deno.readTextFile(`${env.colmena.dir}/active`)).trim();
      await new Deno.Command("kill", { args: ["-KILL", "--", `-${orphan}`] }).output();
      await env.colmena.set({ mode: "ok" });
      const killedAt = Date.now();

      const res = await waiting;
      const answer = await res.json();
      const tookMs = Date.now() - killedAt;
      assert.equal(res.status, 500, JSON.stringify(answer));
      assert.equal(answer.status, "interrupted");
      assert.ok(tookMs < 30_000, `takeover took ${tookMs} ms`);
      assert.equal((await ready(b.url)).role, "leader");

      const d = await (await call(b.url, env, `/api/deployments/${answer.deployment_id}`)).json();
      assert.equal(d.rollback.status, "ok");
      assert.equal(d.pushed, true);
      assert.deepEqual((await env.remote!.log()).slice(0, 2), [
        "revert deploy webapp 1.1.0",
        "deploy webapp 1.1.0",
      ]);
      const s = await waitFor("the queue to go on", async () => {
        const d = await (await call(b.url, env, `/api/deployments/${second.deployment_id}`)).json();
        return d.status === "queued" || d.status === "running" ? undefined : d;
      });
      assert.equal(s.status, "deployed", s.error);
      // The hung run, the new leader's rollback, the queued deployment: each once.
      const runs = await env.colmena.runs();
      assert.equal(runs.length, 3, JSON.stringify(runs.map((r) => r.argv)));
    });
  },
);

Deno.test(
  "two instances: cancelling on the follower stops the deployment the leader runs",
  async () => {
    await withTwoInstances(async (env, b) => {
      await env.colmena.set({ mode: "hang" });
      const queued = await (await hookAt(b.url, env, "1.1.0", false)).json();
      await env.colmena.waitFor((r) => r.length === 1, "colmena to start on the leader");
      const c = await call(b.url, env, `/api/deployments/${queued.deployment_id}/cancel`, {
        method: "POST",
      });
      assert.equal(c.status, 202, await c.text());
      const d = await env.waitDeployment(queued.deployment_id, (d) => d.status === "cancelled");
      assert.equal(d.rollback?.status ?? "ok", "ok");
      assert.equal(await env.remote!.head(), d.revert_sha);
    });
  },
);

Deno.test(
  "two instances: Promote asked of the follower lets the leader's paused deployment go on",
  async () => {
    const env = await createDeployEnv({ remote: true, extraEnv: HA, start: false });
    let b: ServerProcess | undefined;
    try {
      await env.colmena.set({ nodes: CANARY_FLEET });
      await env.colmena.seed(env.remote!.team.dir);
      const config = await settingsFile(env, CANARY_STAGES);
      await env.startServer({ DESPACITO_CONFIG: config });
      await env.waitFor(async () => (await ready(env.url)).role === "leader");
      b = await startB(env, { DESPACITO_CONFIG: config });
      const first = await (await hookAt(b.url, env, "1.1.0", false)).json();
      await env.waitDeployment(first.deployment_id, (d) => d.awaiting_promotion === "canary");
      const promoted = await call(b.url, env, `/api/deployments/${first.deployment_id}/promote`, {
        method: "POST",
      });
      assert.equal(promoted.status, 202, await promoted.text());
      const done = await env.waitDeployment(first.deployment_id, (d) => d.status === "deployed");
      assert.ok(
        done.steps.some((s: { name: string; status: string }) =>
          s.name === "promotion" && s.status === "ok"
        ),
      );
      // Not paused (anymore): the leader says no, and the follower answers 409.
      const again = await call(b.url, env, `/api/deployments/${first.deployment_id}/promote`, {
        method: "POST",
      });
      assert.equal(again.status, 409);
      assert.equal((await again.json()).error.code, "not_awaiting_promotion");
    } finally {
      await b?.stop();
      await env.close();
    }
  },
);
