import assert from "node:assert/strict";
import { ConfigError, loadConfig, parseListen } from "./config.ts";
import { OPTIONS } from "./table.ts";

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("loadConfig() applies defaults when the environment is empty", () => {
  const c = loadConfig({});
  assert.equal(c.listen, ":8080");
  assert.equal(c.listenSocketMode, 0o660);
  assert.equal(c.dataDir, "./data");
  assert.equal(c.colmenaBin, "colmena");
  assert.equal(c.logLevel, "info");
  assert.equal(c.sessionCookieSecure, true);
  assert.equal(c.shutdownTimeoutMs, 30_000);
  assert.equal(c.postgresUri, undefined);
  assert.ok(Object.isFrozen(c));
});

Deno.test("loadConfig() lists every problem at once, each naming its variable", () => {
  const err = configError(() =>
    loadConfig({
      DESPACITO_LISTEN: "nope",
      DESPACITO_LISTEN_SOCKET_MODE: "999",
      DESPACITO_LOG_LEVEL: "loud",
      DESPACITO_SHUTDOWN_TIMEOUT: "soon",
      DESPACITO_SESSION_COOKIE_SECURE: "maybe",
      DESPACITO_BASE_URL: "ftp://x",
      DESPACITO_TYPO: "1",
    })
  );
  assert.ok(err instanceof ConfigError);
  const vars = err.problems.map((p) => p.variable).sort();
  assert.deepEqual(vars, [
    "DESPACITO_BASE_URL",
    "DESPACITO_LISTEN",
    "DESPACITO_LISTEN_SOCKET_MODE",
    "DESPACITO_LOG_LEVEL",
    "DESPACITO_SESSION_COOKIE_SECURE",
    "DESPACITO_SHUTDOWN_TIMEOUT",
    "DESPACITO_TYPO",
  ]);
  for (const v of vars) assert.match(err.message, new RegExp(v));
});

Deno.test("loadConfig() reads secrets from *_FILE and strips one trailing newline", () => {
  const c = loadConfig(
    { DESPACITO_POSTGRES_CONNECTION_URI_FILE: "/secret" },
    { readFile: (p) => (p === "/secret" ? "postgres://u:p@h/db\n" : "") },
  );
  assert.equal(c.postgresUri, "postgres://u:p@h/db");
});

Deno.test("loadConfig() refuses both a secret and its _FILE, and an unreadable file", () => {
  const both = configError(() =>
    loadConfig(
      {
        DESPACITO_POSTGRES_CONNECTION_URI: "postgres://x",
        DESPACITO_POSTGRES_CONNECTION_URI_FILE: "/f",
      },
      { readFile: () => "postgres://y" },
    )
  );
  assert.equal(both.problems[0].variable, "DESPACITO_POSTGRES_CONNECTION_URI");
  const missing = configError(() =>
    loadConfig({ DESPACITO_POSTGRES_CONNECTION_URI_FILE: "/nonexistent/secret" })
  );
  assert.equal(missing.problems[0].variable, "DESPACITO_POSTGRES_CONNECTION_URI_FILE");
});

Deno.test("OPTIONS rows are well-formed: unique names, DESPACITO_ prefix, parseable defaults", () => {
  const names = new Set<string>();
  for (const o of OPTIONS) {
    assert.ok(o.env.startsWith("DESPACITO_"), o.env);
    assert.ok(!names.has(o.env), `duplicate ${o.env}`);
    names.add(o.env);
    assert.ok(o.description.length > 10, `${o.env} needs a description`);
  }
  loadConfig({}); // every default parses
});

Deno.test("parseListen() splits host and port", () => {
  assert.deepEqual(parseListen(":8080"), { hostname: "0.0.0.0", port: 8080 });
  assert.deepEqual(parseListen("127.0.0.1:0"), { hostname: "127.0.0.1", port: 0 });
  assert.deepEqual(parseListen("[::1]:9000"), { hostname: "::1", port: 9000 });
});

Deno.test("loadConfig() refuses a flake remote URL carrying a token, and accepts ssh's user@", () => {
  assert.throws(
    () =>
      loadConfig({ DESPACITO_FLAKE_REMOTE: "https://bot:s3cret@forge.example.com/ops/hive.git" }),
    (e: unknown) =>
      e instanceof ConfigError && /DESPACITO_FLAKE_REMOTE/.test(e.message) &&
      /use DESPACITO_FLAKE_TOKEN_FILE/.test(e.message) && !/s3cret/.test(e.message),
  );
  const c = loadConfig({ DESPACITO_FLAKE_REMOTE: "ssh://git@forge.example.com:2222/ops/hive.git" });
  assert.equal(c.flakeRemote, "ssh://git@forge.example.com:2222/ops/hive.git");
});
