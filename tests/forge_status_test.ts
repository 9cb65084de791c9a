import assert from "node:assert/strict";
import { type FakeForgejo, startFakeForgejo } from "./_harness/fake_forgejo.ts";
import {
  connectWebapp,
  type ForgeApp,
  SHA_A,
  SHA_B,
  startForgeApp,
  waitFor,
} from "./forge_setup.ts";
import type { DeploymentStatusEvent } from "../src/forge/ports.ts";

const PAT = "pat-push-0123456789abcdefPUSH";
/** The package input as the flake declares it: fetched with git from the forge itself. */
const sourceOf = (forge: { url: string }) => ({ type: "git", url: `${forge.url}/acme/webapp.git` });
const T0 = new Date("2024-05-01T10:00:00Z");
const at = (s: number) => new Date(T0.getTime() + s * 1000);

type EventOf = (id: string, o: Partial<DeploymentStatusEvent>) => DeploymentStatusEvent;

async function withStatuses(
  fn: (forge: FakeForgejo, app: ForgeApp, event: EventOf) => Promise<void>,
  env = {},
) {
  const forge = await startFakeForgejo();
  forge.addRepo("acme", "webapp", { [PAT]: { admin: false, push: true, pull: true } });
  // Forgejo answers 500 for a status on a commit it does not have: these are the ones it has.
  forge.addCommit("acme", "webapp", SHA_A);
  forge.addCommit("acme", "webapp", SHA_B);
  const app = await startForgeApp({ env });
  app.ports.sources.set("webapp", sourceOf(forge));
  try {
    await connectWebapp(app, forge, PAT, "tag");
    forge.calls.length = 0;
    await fn(forge, app, (id, o) => eventOf(forge.url, id, o));
    assert.deepEqual(forge.rejections, []);
  } finally {
    await app.close();
    await forge.close();
  }
}

function eventOf(
  forgeUrl: string,
  id: string,
  o: Partial<DeploymentStatusEvent>,
): DeploymentStatusEvent {
  return {
    deploymentId: id,
    package: "webapp",
    version: "v1.2.0",
    status: "queued",
    lockedRev: null,
    flakeRef: `git+${forgeUrl}/acme/webapp.git?ref=refs/tags/v1.2.0&rev=${SHA_A}`,
    createdAt: T0,
    startedAt: null,
    finishedAt: null,
    failureKind: null,
    ...o,
  };
}

const settled = (app: ForgeApp, id: string, n: number) =>
  waitFor(`${n} settled status posts`, async () => {
    const rows = await app.sql<
      { state: string; ok: boolean | null; attempts: number; error: string | null }[]
    >`
      select state, ok, attempts, error from forge_status_post where deployment_id = ${id} order by id`;
    return rows.length === n && rows.every((r) => r.ok !== null) ? rows : undefined;
  });

Deno.test("commit statuses go pending → success with context, one-line description and link", async () => {
  await withStatuses(async (forge, app, event) => {
    const id = crypto.randomUUID();
    app.ports.emit(event(id, {}));
    app.ports.emit(event(id, { status: "running", startedAt: at(5) }));
    app.ports.emit(
      event(id, { status: "deployed", startedAt: at(5), finishedAt: at(70), lockedRev: SHA_A }),
    );
    await settled(app, id, 2);
    const target = `${app.url}/deployments/${id}`;
    assert.deepEqual(forge.statuses("acme", "webapp"), [
      {
        sha: SHA_A,
        state: "pending",
        context: "despacito/webapp",
        description: "Deploying v1.2.0 (queued)",
        target_url: target,
      },
      {
        sha: SHA_A,
        state: "success",
        context: "despacito/webapp",
        description: "Deployed v1.2.0 in 1m 5s",
        target_url: target,
      },
    ]);
    assert.deepEqual(forge.calls.map((c) => [c.method, c.path, c.authorization]), [
      ["POST", `/api/v1/repos/acme/webapp/statuses/${SHA_A}`, `token ${PAT}`],
      ["POST", `/api/v1/repos/acme/webapp/statuses/${SHA_A}`, `token ${PAT}`],
    ]);
    const posts =
      (await app.api("GET", `/api/forge/status-posts?deployment_id=${id}`)).json.status_posts;
    assert.deepEqual(
      posts.map((
        p: { state: string; ok: boolean; attempts: number },
      ) => [p.state, p.ok, p.attempts]),
      [
        ["pending", true, 1],
        ["success", true, 1],
      ],
    );
    const repo = (await app.api("GET", "/api/repositories")).json.repositories[0];
    assert.equal(repo.last_status_post.state, "success");
    assert.equal(repo.last_status_post.deployment_id, id);
  });
});

Deno.test("commit statuses go pending → failure when colmena failed, error when despacito could not run it", async () => {
  await withStatuses(async (forge, app, event) => {
    const a = crypto.randomUUID();
    app.ports.emit(event(a, { status: "running", startedAt: at(0) }));
    app.ports.emit(
      event(a, { status: "failed", startedAt: at(0), finishedAt: at(42), failureKind: "failure" }),
    );
    await settled(app, a, 2);
    const b = crypto.randomUUID();
    app.ports.emit(event(b, { version: "v1.3.0", flakeRef: null, lockedRev: SHA_B }));
    app.ports.emit(
      event(b, {
        version: "v1.3.0",
        flakeRef: null,
        lockedRev: SHA_B,
        status: "cancelled",
        finishedAt: at(3),
        failureKind: "error",
      }),
    );
    await settled(app, b, 2);
    assert.deepEqual(forge.statuses("acme", "webapp").map((s) => [s.sha, s.state, s.description]), [
      [SHA_A, "pending", "Deploying v1.2.0"],
      [SHA_A, "failure", "Deployment of v1.2.0 failed after 42s"],
      [SHA_B, "pending", "Deploying v1.3.0 (queued)"],
      [SHA_B, "error", "Could not deploy v1.3.0 (cancelled) after 3s"],
    ]);
  });
});

Deno.test("commit statuses are retried with backoff while the forge is down, and the outcome is recorded", async () => {
  await withStatuses(async (forge, app, event) => {
    forge.failNext(/\/statuses\//, 2, 503);
    const id = crypto.randomUUID();
    app.ports.emit(event(id, { status: "deployed", startedAt: at(0), finishedAt: at(10) }));
    const [row] = await settled(app, id, 1);
    assert.deepEqual(row, { state: "success", ok: true, attempts: 3, error: null });
    assert.deepEqual(forge.calls.map((c) => c.status), [503, 503, 201]);
    assert.ok(app.logs.some((l) => l.includes('"commit status post failed; retrying"')));

    // A forge that stays down: recorded as failed after the configured attempts, nothing thrown.
    forge.failNext(/\/statuses\//, 100, 502);
    const other = crypto.randomUUID();
    app.ports.emit(event(other, { status: "deployed", startedAt: at(0), finishedAt: at(10) }));
    const [gaveUp] = await settled(app, other, 1);
    assert.equal(gaveUp.ok, false);
    assert.equal(gaveUp.attempts, 3);
    assert.match(gaveUp.error!, /gave up after 3 attempt\(s\).*HTTP 502/);
  }, { DESPACITO_FORGE_STATUS_ATTEMPTS: "3" });
});

Deno.test("commit statuses skip deployments whose source is another repository, matched exactly", async () => {
  await withStatuses(async (forge, app, event) => {
    const other = crypto.randomUUID();
    app.ports.emit(
      event(other, {
        status: "deployed",
        flakeRef: `git+https://elsewhere/x/y?rev=${SHA_B}`,
        finishedAt: at(1),
      }),
    );
    // The same owner/repo text on another host is another repository.
    const lookalike = crypto.randomUUID();
    app.ports.emit(
      event(lookalike, { flakeRef: `git+https://evil.example/acme/webapp.git?rev=${SHA_B}` }),
    );
    const unknown = crypto.randomUUID();
    app.ports.emit(event(unknown, { flakeRef: null, lockedRev: null }));
    const foreign = crypto.randomUUID();
    app.ports.emit(event(foreign, { package: "not-connected" }));
    // Both connected-package events with a commit are decided (logged) before we count.
    const skips = await waitFor("both skips logged", () => {
      const skips = app.logs.filter((l) =>
        l.includes("no source commit of the connected repository")
      );
      return skips.length === 2 ? skips : undefined;
    });
    for (const l of skips) assert.match(l, /its source is another repository/);
    const marker = crypto.randomUUID();
    app.ports.emit(event(marker, {}));
    await settled(app, marker, 1);
    const [{ n }] = await app.sql`select count(*)::int as n from forge_status_post`;
    assert.equal(n, 1);
    assert.equal(forge.statuses("acme", "webapp").length, 1);
  });
});

Deno.test("commit statuses of a runner deployment without rev= wait for the locked rev, then pending → success", async () => {
  await withStatuses(async (forge, app, event) => {
    const id = crypto.randomUUID();
    // A runner's POST /webhook without flake_ref: the declared source (the connected repo).
    const runner = { flakeRef: null, version: "v1.4.0" };
    app.ports.emit(event(id, { ...runner }));
    app.ports.emit(event(id, { ...runner, status: "running", startedAt: at(1) }));
    app.ports.emit(
      event(id, { ...runner, status: "running", startedAt: at(1), lockedRev: SHA_B }),
    );
    app.ports.emit(
      event(id, {
        ...runner,
        status: "deployed",
        startedAt: at(1),
        finishedAt: at(4),
        lockedRev: SHA_B,
      }),
    );
    await settled(app, id, 2);
    assert.deepEqual(forge.statuses("acme", "webapp").map((s) => [s.sha, s.state, s.description]), [
      [SHA_B, "pending", "Deploying v1.4.0"],
      [SHA_B, "success", "Deployed v1.4.0 in 3s"],
    ]);
    // With a tag ref of the connected repository (no rev=) the same holds.
    const tagged = crypto.randomUUID();
    const ref = {
      flakeRef: `git+${forge.url}/acme/webapp?ref=refs/tags/v1.5.0`,
      version: "v1.5.0",
    };
    app.ports.emit(event(tagged, { ...ref }));
    app.ports.emit(event(tagged, { ...ref, status: "running", lockedRev: SHA_A }));
    app.ports.emit(
      event(tagged, {
        ...ref,
        status: "failed",
        lockedRev: SHA_A,
        finishedAt: at(9),
        failureKind: "failure",
      }),
    );
    await settled(app, tagged, 2);
    assert.deepEqual(forge.statuses("acme", "webapp").slice(2).map((s) => [s.sha, s.state]), [
      [SHA_A, "pending"],
      [SHA_A, "failure"],
    ]);
  });
});

Deno.test("commit statuses refused for the token (403 scope) are not retried and show as the repository's problem", async () => {
  await withStatuses(async (forge, app, event) => {
    const [repo] = (await app.api("GET", "/api/repositories")).json.repositories;
    forge.setScopes(PAT, ["read:repository"]);
    const id = crypto.randomUUID();
    app.ports.emit(event(id, {}));
    const [row] = await settled(app, id, 1);
    assert.equal(row.ok, false);
    assert.equal(row.attempts, 1, "a credential problem is not retried");
    assert.match(String(row.error), /^forge_token_cannot_write: .*write:repository/);
    const shown = (await app.api("GET", `/api/repositories/${repo.id}`)).json;
    assert.equal(shown.problem.code, "forge_token_cannot_write");
    assert.match(shown.problem.message, /write:repository/);

    // A working token again: the next post succeeds and the problem is gone.
    forge.setScopes(PAT, ["write:repository"]);
    const next = crypto.randomUUID();
    app.ports.emit(event(next, {}));
    await settled(app, next, 1);
    assert.equal((await app.api("GET", `/api/repositories/${repo.id}`)).json.problem, null);
    assert.equal(forge.statuses("acme", "webapp").length, 1);
  });
});

Deno.test("commit statuses to a moved repository (307) say where it went, once, on the repository", async () => {
  await withStatuses(async (forge, app, event) => {
    const [repo] = (await app.api("GET", "/api/repositories")).json.repositories;
    forge.moveRepo("acme", "webapp", "newco", "web");
    const id = crypto.randomUUID();
    app.ports.emit(event(id, {}));
    const [row] = await settled(app, id, 1);
    assert.equal(row.attempts, 1);
    assert.match(String(row.error), /^forge_repo_moved: .*moved to newco\/web/);
    assert.deepEqual(forge.calls.map((c) => c.status), [307], "the redirect is not followed");
    const shown = (await app.api("GET", `/api/repositories/${repo.id}`)).json;
    assert.equal(shown.problem.code, "forge_repo_moved");
    assert.match(shown.problem.message, /disconnect and connect newco\/web/);
  });
});

Deno.test("commit statuses on a commit the forge does not have (500) are retried, then recorded as failed", async () => {
  await withStatuses(async (forge, app, event) => {
    const id = crypto.randomUUID();
    const unknown = "3333333333333333333333333333333333333333";
    app.ports.emit(event(id, { flakeRef: null, lockedRev: unknown }));
    const [row] = await settled(app, id, 1);
    assert.equal(row.ok, false);
    assert.equal(row.attempts, 3);
    assert.match(String(row.error), /HTTP 500/);
    assert.deepEqual(forge.statuses("acme", "webapp"), []);
    const [repo] = (await app.api("GET", "/api/repositories")).json.repositories;
    assert.equal(repo.problem, null, "not a credential problem");
  }, { DESPACITO_FORGE_STATUS_ATTEMPTS: "3" });
});
