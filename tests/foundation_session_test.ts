/**
 * Whole sessions against the real process: on the embedded default (no
 * Postgres URI) a run of token requests leaves no token in anything the
 * server printed; `despacito token create` works with bootstrap on, off,
 * and while a server runs, and its stdout is just the token.
 */

import assert from "node:assert/strict";
import { freshDatabase } from "./_harness/postgres.ts";
import { runCli, spawnServer } from "./_harness/server.ts";

async function call(
  url: string,
  method: string,
  path: string,
  options: { token?: string; body?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(url + path, { method, headers, body: options.body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

Deno.test("despacito on the embedded default: a token session leaves no token in its output", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "despacito-session-" });
  const env = { DESPACITO_DATA_DIR: dataDir, DESPACITO_LISTEN: "127.0.0.1:0" };
  const secrets: string[] = [];
  let printed = "";
  try {
    const server = await spawnServer({ env, args: [] }); // no subcommand: serve is the default
    try {
      const embedded = server.logs().filter((l) => /embedded PGlite/.test(String(l.msg)));
      assert.equal(embedded.length, 1, "one clear line says the embedded database is used");
      assert.equal(server.logs().find((l) => l.msg === "despacito started")?.database, "embedded");

      const u = server.url;
      const admin = await call(u, "POST", "/api/tokens", { body: '{"description":"admin"}' });
      assert.equal(admin.status, 201);
      const token = admin.body.token as string;
      secrets.push(token);
      const scoped = await call(u, "POST", "/api/tokens", {
        token,
        body: '{"description":"web","packages":["web"],"expires_in":"30d"}',
      });
      assert.equal(scoped.status, 201);
      secrets.push(scoped.body.token);
      assert.equal((await call(u, "GET", "/api/me", { token: scoped.body.token })).status, 200);
      assert.equal((await call(u, "GET", "/api/tokens", { token })).status, 200);
      assert.equal(
        (await call(u, "DELETE", `/api/tokens/${scoped.body.id}`, { token })).status,
        204,
      );
      // Credentials in every place a careless log might pick them up.
      assert.equal((await call(u, "GET", "/api/me", { token: scoped.body.token })).status, 401);
      assert.equal((await call(u, "GET", `/api/me?token=${token}`)).status, 401);
      const cookie = await call(u, "GET", "/api/me", { headers: { cookie: `session=${token}` } });
      assert.equal(cookie.status, 401);
      const basic = await call(u, "GET", "/api/me", {
        headers: { authorization: `Basic ${token}` },
      });
      assert.equal(basic.status, 401);
      const junk = await call(u, "POST", "/api/tokens", {
        token,
        body: `{"description":"${token}`,
      });
      assert.equal(junk.status, 400);
      assert.equal((await call(u, "GET", "/api/me", { token })).status, 200);
    } finally {
      assert.equal(await server.stop(), 0);
      printed += server.stdout.join("\n") + server.stderr();
    }

    // Bootstrap is closed now, but the CLI creates tokens regardless.
    const cli = await runCli(["token", "create", "--description", "from-cli"], env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^[0-9a-f]{64}\n$/, "stdout is the token and nothing else");
    const cliToken = cli.stdout.trim();
    secrets.push(cliToken);
    assert.ok(!cli.stderr.includes(cliToken), "the CLI's log does not repeat it");

    const again = await spawnServer({ env });
    try {
      const me = await call(again.url, "GET", "/api/me", { token: cliToken });
      assert.equal(me.status, 200);
      assert.equal(me.body.token.description, "from-cli");
    } finally {
      assert.equal(await again.stop(), 0);
      printed += again.stdout.join("\n") + again.stderr();
    }

    assert.ok(printed.includes('"msg":"request"'), "the request log was captured");
    for (const s of secrets) assert.ok(!printed.includes(s), "a raw token was printed");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("despacito token create: works with bootstrap off, beside a running server, and closes bootstrap", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "despacito-session-" });
  const off = await freshDatabase();
  const on = await freshDatabase();
  try {
    const envOff = {
      DESPACITO_DATA_DIR: dataDir,
      DESPACITO_POSTGRES_CONNECTION_URI: off.uri,
      DESPACITO_LISTEN: "127.0.0.1:0",
      DESPACITO_TOKEN_BOOTSTRAP: "false",
    };
    const server = await spawnServer({ env: envOff });
    try {
      const closed = await call(server.url, "POST", "/api/tokens", { body: '{"description":"a"}' });
      assert.equal(closed.status, 401);
      const cli = await runCli([
        "token",
        "create",
        "--description",
        "deployer",
        "--expires-in",
        "30d",
        "--package",
        "web",
        "--json",
      ], envOff);
      assert.equal(cli.code, 0, cli.stderr);
      const created = JSON.parse(cli.stdout);
      assert.deepEqual(created.packages, ["web"]);
      assert.ok(Date.parse(created.expires_at) > Date.now() + 29 * 86_400_000);
      const me = await call(server.url, "GET", "/api/me", { token: created.token });
      assert.equal(me.status, 200);
      assert.deepEqual(me.body.token.packages, ["web"]);

      const bad = await runCli(
        ["token", "create", "--description", "x", "--expires-in", "soon"],
        envOff,
      );
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--expires-in: /);

      // Knowing the flake, the CLI refuses a scope no input matches, as the API does (422).
      const flakeDir = `${dataDir}/flake`;
      await Deno.mkdir(flakeDir);
      await Deno.writeTextFile(`${flakeDir}/flake.nix`, "{ outputs = _: { }; }\n");
      await Deno.writeTextFile(
        `${flakeDir}/flake.lock`,
        JSON.stringify({
          nodes: {
            root: { inputs: { web: "web" } },
            web: {
              locked: { type: "git", url: "file:///srv/web", rev: "a".repeat(40) },
              original: { type: "git", url: "file:///srv/web" },
            },
          },
          root: "root",
          version: 7,
        }),
      );
      const scoped = (pkg: string) =>
        runCli(["token", "create", "--description", "s", "--package", pkg, "--json"], {
          ...envOff,
          DESPACITO_FLAKE_DIR: flakeDir,
        });
      const unknown = await scoped("no-such-package");
      assert.equal(unknown.code, 2, unknown.stderr);
      assert.match(
        unknown.stderr,
        /--package: "no-such-package" not an input of the deployment flake/,
      );
      assert.equal(unknown.stdout, "");
      const known = await scoped("web");
      assert.equal(known.code, 0, known.stderr);
      assert.deepEqual(JSON.parse(known.stdout).packages, ["web"]);
    } finally {
      assert.equal(await server.stop(), 0);
    }

    const envOn = { ...envOff, DESPACITO_POSTGRES_CONNECTION_URI: on.uri };
    delete (envOn as Record<string, string>).DESPACITO_TOKEN_BOOTSTRAP;
    const serverOn = await spawnServer({ env: envOn });
    try {
      const cli = await runCli(["token", "create", "--description", "first"], envOn);
      assert.equal(cli.code, 0, cli.stderr);
      const stranger = await call(serverOn.url, "POST", "/api/tokens", {
        body: '{"description":"late"}',
      });
      assert.equal(stranger.status, 401, "a CLI-created token closes bootstrap");
    } finally {
      assert.equal(await serverOn.stop(), 0);
    }
  } finally {
    await off.drop();
    await on.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
