/**
 * Strict arguments everywhere (issue 9 item 10), run as a real process
 * under the shipped flags: an unknown flag or stray argument is exit 2
 * naming it, and `serve --port 9999` starts nothing. A database command
 * beside a server holding the embedded database says so in one line.
 */

import assert from "node:assert/strict";
import { permissionFlags } from "../src/build/permissions.ts";
import { loadConfig } from "../src/config/config.ts";
import { REPO_DIR, runCli, spawnServer } from "./_harness/server.ts";

Deno.test("every command refuses unknown flags and stray arguments with exit 2, naming them", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "despacito-args-" });
  try {
    const env = { DESPACITO_DATA_DIR: dataDir, DESPACITO_LISTEN: "127.0.0.1:0" };
    const cases: [string[], RegExp][] = [
      [["serve", "--port", "9999"], /serve takes no arguments, got "--port".*DESPACITO_LISTEN/],
      [["--port", "9999"], /serve takes no arguments, got "--port"/],
      [["serve", "extra"], /got "extra"/],
      [["migrate", "--bogus"], /bogus/],
      [["migrate", "now"], /unexpected argument "now"/],
      [["token", "create", "--description", "x", "--forever"], /forever/],
      [["token", "create", "--description", "x", "more"], /unexpected argument "more"/],
      [["user", "list", "--all"], /unknown option "--all"/],
      [["user", "list", "x"], /usage: despacito user/],
      [["secrets", "rotate-key", "--now"], /usage: despacito secrets rotate-key/],
      [["healthcheck", "--verbose"], /unexpected argument "--verbose"/],
      [["version", "--short"], /unexpected argument "--short"/],
      [["help", "everything"], /unexpected argument "everything"/],
      [["status", "--bogus"], /bogus/],
      [["deployments", "--limit"], /limit/],
      [["logs", "-x", "id"], /-x/],
      [["deploy", "webapp"], /missing argument/],
      [["login", "a", "b"], /unexpected argument "b"/],
      [["tokens", "list", "--description", "x"], /belong to `tokens create`/],
      [["frobnicate"], /unknown command "frobnicate"/],
    ];
    for (const [args, why] of cases) {
      const r = await runCli(args, env);
      assert.equal(r.code, 2, `${args.join(" ")} → ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, why, args.join(" "));
      assert.ok(!r.stdout.includes("despacito started"), `${args.join(" ")} started a server`);
    }
    // The usage block fits 100 columns.
    const help = await runCli(["--help"], env);
    const usage = help.stdout.split("\n\n")[1];
    for (const line of usage.split("\n")) assert.ok(line.length <= 100, line);
    assert.match(usage, /despacito login \[URL\]/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a database command while the server holds the embedded database: one clear line, exit 1", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "despacito-args-" });
  const env = { DESPACITO_DATA_DIR: dataDir, DESPACITO_LISTEN: "127.0.0.1:0" };
  const server = await spawnServer({ env });
  try {
    for (const args of [["user", "list"], ["migrate", "--status"]]) {
      const r = await runCli(args, env);
      assert.equal(r.code, 1, r.stderr);
      // "Info Failed to resolve …" is Deno itself noting a program missing from PATH.
      const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("Info "));
      assert.equal(lines.length, 1, `one line, no stack trace:\n${r.stderr}`);
      assert.match(
        lines[0],
        /^despacito: the embedded database at .* is in use by another despacito process \(is the server running\?\): stop it first, or use PostgreSQL/,
      );
    }
  } finally {
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("operator commands under the server's flags (the compiled binary): login says what to do instead", async () => {
  const home = await Deno.makeTempDir({ prefix: "despacito-home-" });
  try {
    const flags = permissionFlags({ config: loadConfig({}), programDir: REPO_DIR });
    const run = async (args: string[], env: Record<string, string> = {}) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", ...flags, `${REPO_DIR}/main.ts`, ...args],
        env: { PATH: Deno.env.get("PATH") ?? "", HOME: home, NO_COLOR: "1", ...env },
        clearEnv: true,
        cwd: REPO_DIR,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    };
    const login = await run(["login", "http://127.0.0.1:9"]);
    assert.equal(login.code, 1, login.stderr);
    assert.match(login.stderr, /may not write .*\.config\/despacito .*deno task cli login/);
    const status = await run(["status"]);
    assert.equal(status.code, 3, status.stderr);
    assert.match(status.stderr, /may not read .*DESPACITO_URL and DESPACITO_TOKEN/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
