import assert from "node:assert/strict";
import { STORE_PATH, withDeployEnv } from "./_harness/deploy_env.ts";
import { createToken } from "../src/auth/tokens.ts";

const req = (patch: Record<string, unknown> = {}) => ({
  package: "webapp",
  version: "1.1.0",
  nix_store_path: STORE_PATH,
  ...patch,
});

Deno.test(
  "POST /webhook answers 400/401/403/413/422 before any work, listing every bad field",
  async () => {
    await withDeployEnv({ extraEnv: { DESPACITO_MAX_BODY_BYTES: "2048" } }, async (env) => {
      const status = async (r: Response) => {
        await r.body?.cancel();
        return r.status;
      };
      assert.equal(await status(await env.fetch("/webhook", { method: "POST", token: null })), 401);
      assert.equal(
        await status(await env.fetch("/webhook", { method: "POST", token: "f".repeat(64) })),
        401,
      );
      const malformed = await env.webhook("{not json");
      assert.equal(malformed.status, 400);
      assert.equal((await malformed.json()).error.code, "invalid_json");
      const unknown = await env.webhook(req({ extra: 1 }));
      assert.equal(unknown.status, 400);
      assert.deepEqual((await unknown.json()).error.details, [{
        field: "extra",
        message: "unknown field",
      }]);
      const many = await env.webhook({ package: ["x"], version: 1, nix_store_path: "/tmp/x" });
      assert.equal(many.status, 400);
      const body = await many.json();
      assert.equal(body.error.code, "invalid_request");
      assert.deepEqual(body.error.details.map((d: { field: string }) => d.field), [
        "package",
        "version",
        "nix_store_path",
      ]);
      const big = await env.webhook(req({ version: "x".repeat(4096) }));
      assert.equal(big.status, 413);
      await big.body?.cancel();

      const path = await env.webhook(req({ flake_ref: `path:${env.webapp.dir}` }));
      assert.equal(path.status, 400);
      assert.match((await path.json()).error.details[0].message, /scheme "path" is not allowed/);
      // Same scheme, someone else's repository: refused before anything runs.
      const foreign = await env.webhook(req({ flake_ref: `${env.api.url}?ref=refs/tags/v2.0.0` }));
      assert.equal(foreign.status, 400);
      const fb = await foreign.json();
      assert.equal(fb.error.details[0].field, "flake_ref");
      assert.match(fb.error.details[0].message, /repository the input declares/);

      const unknownPkg = await env.webhook(req({ package: "nope" }));
      assert.equal(unknownPkg.status, 422);
      assert.equal((await unknownPkg.json()).error.code, "unknown_package");

      const limited = await createToken(env.sql, {
        description: "api-only",
        packages: ["api"],
      });
      const forbidden = await env.fetch("/webhook", {
        method: "POST",
        token: limited.token,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(req()),
      });
      assert.equal(forbidden.status, 403);
      await forbidden.body?.cancel();

      // JSON sent as text/plain (fetch's default for a string body) or a form is not guessed at.
      for (const type of [undefined, "text/plain", "application/x-www-form-urlencoded"]) {
        const r = await env.fetch("/webhook", {
          method: "POST",
          headers: type ? { "Content-Type": type } : {},
          body: JSON.stringify(req()),
        });
        assert.equal(r.status, 415, String(type));
        assert.equal((await r.json()).error.code, "unsupported_media_type");
      }

      const hookWith = (token: string, body: unknown) =>
        env.fetch("/webhook?wait=false", {
          method: "POST",
          token,
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
        });
      // The webhook's guard trusts a token it verified a moment ago; the admission asks again,
      // so a token revoked or narrowed by hand in the database right after a use queues nothing.
      for (
        const [change, status, code] of [
          ["revoked_at = now()", 401, "unauthenticated"],
          ["expires_at = now()", 401, "unauthenticated"],
          ["packages = '{api}'", 403, "package_not_allowed"],
        ] as const
      ) {
        const t = await createToken(env.sql, { description: change });
        const send = (body: unknown) => hookWith(t.token, body);
        const used = await send(req({ package: "nope" }));
        assert.equal(used.status, 422, "the token passed the guard");
        await used.body?.cancel();
        await env.sql.unsafe(`update auth_token set ${change} where id = $1`, [t.id]);
        const refused = await send(req());
        assert.equal(refused.status, status, change);
        assert.equal((await refused.json()).error.code, code, change);
      }
      // Revoked through the API: the guard itself refuses the very next request (before the
      // body is read; a remembered token would have got this unknown package's 422).
      const t = await createToken(env.sql, { description: "revoked by API" });
      const withT = (body: unknown) => hookWith(t.token, body);
      const before = await withT(req({ package: "nope" }));
      assert.equal(before.status, 422);
      await before.body?.cancel();
      const del = await env.fetch(`/api/tokens/${t.id}`, { method: "DELETE" });
      assert.equal(del.status, 204);
      const after = await withT(req({ package: "nope" }));
      assert.equal(after.status, 401);
      assert.match((await after.json()).error.message, /revoked/);

      const [{ n }] = await env.sql`select count(*)::int as n from deployments`;
      assert.equal(n, 0);
      assert.equal((await env.colmena.runs()).length, 0);
      assert.equal(await env.flake.status(), "");
    });
  },
);

Deno.test(
  "POST /webhook answers 202 + Location when asked not to wait, then 409 in_progress / already_deployed",
  async () => {
    await withDeployEnv({}, async (env) => {
      await env.colmena.set({ mode: "hold" });
      const r = await env.webhook(req(), "?wait=false");
      assert.equal(r.status, 202);
      const b = await r.json();
      assert.equal(b.status, "queued");
      assert.equal(r.headers.get("location"), `/api/deployments/${b.deployment_id}`);
      // The row and its first log line exist before the response.
      const log = await (await env.fetch(`/api/deployments/${b.deployment_id}/log`)).text();
      assert.match(log, /^queued webapp 1\.1\.0 \(requested by token ci-runner-1\)/);

      const dup = await env.webhook(req(), "", { Prefer: "respond-async" });
      assert.equal(dup.status, 409);
      assert.deepEqual(await dup.json(), {
        status: "in_progress",
        package: "webapp",
        version: "1.1.0",
        deployment_id: b.deployment_id,
      });
      const other = await env.webhook(
        { package: "api", version: "2.0.0", nix_store_path: STORE_PATH },
        "",
        { Prefer: "respond-async, wait=5" },
      );
      assert.equal(other.status, 202);
      await other.body?.cancel();

      await env.colmena.release();
      await env.waitDeployment(b.deployment_id, (d) => d.status === "deployed");
      const again = await env.webhook(req());
      assert.equal(again.status, 409);
      assert.equal((await again.json()).status, "already_deployed");
    });
  },
);

Deno.test(
  "POST /webhook answers 500 with the error when colmena fails, and 503 without a usable flake dir",
  async () => {
    await withDeployEnv({}, async (env) => {
      await env.colmena.set({ mode: "fail" });
      const r = await env.webhook(req());
      assert.equal(r.status, 500);
      const b = await r.json();
      assert.equal(b.status, "failed");
      // The first real error line, not only an exit code.
      assert.equal(
        b.error,
        "activation failed: error: evaluation aborted: something broke in the hive",
      );
      assert.ok(b.deployment_id);

      await env.stopServer();
      await env.startServer({ DESPACITO_FLAKE_DIR: "" });
      const off = await env.webhook(req({ version: "1.2.0" }));
      assert.equal(off.status, 503);
      assert.equal((await off.json()).error.code, "flake_dir_unset");

      await env.stopServer();
      const empty = await Deno.makeTempDir({ dir: env.root });
      await env.startServer({ DESPACITO_FLAKE_DIR: empty });
      const unusable = await env.webhook(req({ version: "1.2.0" }));
      assert.equal(unusable.status, 503);
      assert.equal((await unusable.json()).error.code, "flake_dir_unusable");
    });
  },
);

Deno.test(
  "POST /webhook: a waiting client that disconnects does not stop its deployment",
  async () => {
    await withDeployEnv({}, async (env) => {
      await env.colmena.set({ mode: "hold" });
      const gone = new AbortController();
      const waiting = fetch(`${env.url}/webhook`, {
        method: "POST",
        headers: { authorization: `Bearer ${env.token}`, "content-type": "application/json" },
        body: JSON.stringify(req()),
        signal: gone.signal,
      }).then(() => "answered", (e) => (e as Error).name);
      await env.colmena.waitFor((runs) => runs.length === 1, "colmena started");
      gone.abort();
      assert.equal(await waiting, "AbortError");

      await env.colmena.release();
      const list = await (await env.fetch("/api/deployments?package=webapp")).json();
      assert.equal(list.deployments.length, 1);
      const done = await env.waitDeployment(list.deployments[0].id, (d) => d.status !== "running");
      assert.equal(done.status, "deployed");
      assert.equal((await env.colmena.runs()).length, 1);
    });
  },
);
