import assert from "node:assert/strict";
import { STORE_PATH, withDeployEnv } from "./_harness/deploy_env.ts";
import { git } from "./_harness/flakes.ts";

Deno.test(
  "POST /webhook deploys: lock pinned to the tag's rev, one commit with trailers, exact colmena argv",
  async () => {
    await withDeployEnv({}, async (env) => {
      const before = await env.flake.head();
      const ref = `${env.webapp.url}?ref=refs/tags/v1.1.0`;
      const r = await env.webhook({
        package: "webapp",
        version: "1.1.0",
        nix_store_path: STORE_PATH,
        flake_ref: ref,
      });
      const body = await r.json();
      assert.equal(r.status, 200, JSON.stringify(body));
      assert.equal(body.status, "deployed");
      assert.equal(body.package, "webapp");
      assert.equal(body.version, "1.1.0");

      assert.equal(await env.flake.lockedRev("webapp"), env.webapp.tags["v1.1.0"]);
      assert.equal(await env.flake.status(), "");
      const commits = (await git(env.flake.dir, "rev-list", `${before}..HEAD`)).trim().split("\n");
      assert.equal(commits.length, 1);
      const msg = await git(env.flake.dir, "log", "-1", "--format=%B");
      assert.equal(
        msg.trim(),
        `deploy webapp 1.1.0\n\nDeployment-Id: ${body.deployment_id}\nStore-Path: ${STORE_PATH}\nFlake-Ref: ${ref}`,
      );
      const files = await git(env.flake.dir, "show", "--name-only", "--format=", "HEAD");
      assert.equal(files.trim(), "flake.lock");
      const author = await git(env.flake.dir, "log", "-1", "--format=%an <%ae>|%cn");
      assert.equal(author.trim(), "despacito <despacito@localhost>|despacito");

      const runs = await env.colmena.runs();
      assert.equal(runs.length, 1);
      assert.deepEqual(runs[0].argv, ["apply", "switch"]);
      assert.equal(runs[0].cwd, env.flake.dir);

      const d = await (await env.fetch(`/api/deployments/${body.deployment_id}`)).json();
      assert.equal(d.status, "deployed");
      assert.equal(d.locked_rev, env.webapp.tags["v1.1.0"]);
      assert.equal(d.previous_locked_rev, env.webapp.tags["v1.0.0"]);
      assert.equal(d.commit_sha, await env.flake.head());
      assert.deepEqual(
        d.steps.map((s: { name: string; status: string }) => `${s.name}:${s.status}`),
        [
          "queued:ok",
          "preflight:ok",
          "flake:ok",
          "commit:ok",
          "activate:ok",
          "verify:skipped",
        ],
      );
      // One status write per step a recovery needs the record for: preflight (reads only) is
      // written with flake's start, commit (local; recovery finds it by its trailer) with
      // activate's, verify (nothing to check) with the outcome.
      const writes = await env.sql<{ data: { steps: { name: string; status: string }[] } }[]>`
        select data from deployment_log
        where deployment_id = ${body.deployment_id} and stream = 'status' order by seq`;
      assert.deepEqual(
        writes.map((w) => w.data.steps.map((s) => `${s.name}:${s.status}`).join(" ")),
        [
          "",
          "queued:ok",
          "queued:ok preflight:ok flake:running",
          "queued:ok preflight:ok flake:ok commit:ok activate:running",
          "queued:ok preflight:ok flake:ok commit:ok activate:ok verify:skipped",
        ],
      );
      assert.deepEqual(d.nodes, [
        { node: "alpha", status: "succeeded", message: "Activation successful" },
        { node: "beta", status: "succeeded", message: "Activation successful" },
      ]);
      assert.equal(d.exit_code, 0);
      assert.deepEqual(d.triggered_by.label, "ci-runner-1");

      // The fleet runs it, and despacito's record of each node says so.
      for (const n of ["alpha", "beta"]) {
        assert.equal((await env.colmena.node(n))?.revs.webapp, env.webapp.tags["v1.1.0"], n);
      }
      const nodes = (await (await env.fetch("/api/nodes")).json()).nodes;
      assert.deepEqual(
        nodes.map((n: Record<string, unknown>) => [n.node, n.commit, n.outcome, n.packages]),
        [
          ["alpha", d.commit_sha, "activated", { webapp: "1.1.0" }],
          ["beta", d.commit_sha, "activated", { webapp: "1.1.0" }],
        ],
      );

      const log = await (await env.fetch(`/api/deployments/${body.deployment_id}/log`)).text();
      assert.match(log, /alpha \| Activation successful/);
      assert.match(log, /building on stdout/);

      const pk = await (await env.fetch("/api/packages")).json();
      const webapp = pk.packages.find((p: { name: string }) => p.name === "webapp");
      assert.equal(webapp.current_version, "1.1.0");
      assert.equal(webapp.store_path, STORE_PATH);
      assert.equal(webapp.locked_rev, env.webapp.tags["v1.1.0"]);
      assert.equal(webapp.last_status, "deployed");

      // Every structured log line of the deployment carries its context.
      const lines = env.logs.map((l) => JSON.parse(l)).filter((l) =>
        l.deployment_id === body.deployment_id
      );
      assert.ok(lines.length > 3);
      for (const l of lines) {
        assert.equal(l.package, "webapp");
        assert.equal(l.version, "1.1.0");
      }

      // Same version again: 409 already_deployed, nothing runs.
      const again = await env.webhook({
        package: "webapp",
        version: "1.1.0",
        nix_store_path: STORE_PATH,
      });
      assert.equal(again.status, 409);
      assert.deepEqual(await again.json(), {
        status: "already_deployed",
        package: "webapp",
        version: "1.1.0",
        deployment_id: body.deployment_id,
      });
      assert.equal((await env.colmena.runs()).length, 1);
    });
  },
);
