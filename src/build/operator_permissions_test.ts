import assert from "node:assert/strict";
import { loadConfig } from "../config/config.ts";
import { operatorPermissionFlags } from "./operator_permissions.ts";
import { flagsForCommand } from "./permissions.ts";

const env = (vars: Record<string, string>) => (k: string) => vars[k];

function flag(flags: string[], name: string): string[] | undefined {
  const f = flags.find((x) => x === name || x.startsWith(`${name}=`));
  return f === undefined ? undefined : f.slice(name.length + 1).split(",");
}

Deno.test("operatorPermissionFlags() for login: the named server and the loopback listener only", () => {
  const flags = operatorPermissionFlags({
    config: loadConfig({}),
    args: ["login", "--timeout", "90s", "https://despacito.example.com"],
    env: env({ HOME: "/home/op", XDG_CONFIG_HOME: "/home/op/.xdg" }),
  });
  assert.deepEqual(flag(flags, "--allow-net"), ["despacito.example.com:443", "127.0.0.1"]);
  assert.deepEqual(flag(flags, "--allow-write"), ["/home/op/.xdg/despacito"]);
  assert.deepEqual(flag(flags, "--allow-read"), ["/home/op/.xdg/despacito"]);
  assert.deepEqual(flag(flags, "--allow-env"), [
    "DESPACITO_*",
    "XDG_CONFIG_HOME",
    "HOME",
    "NO_COLOR",
  ]);
  assert.equal(flag(flags, "--allow-run"), undefined);
  assert.equal(flag(flags, "--allow-sys"), undefined);
  assert.ok(flags.includes("--no-prompt"));
});

Deno.test("operatorPermissionFlags() for other commands: DESPACITO_URL or the stored server, no listener", () => {
  const fromEnv = operatorPermissionFlags({
    config: loadConfig({ DESPACITO_URL: "http://10.0.0.5:8080", DESPACITO_TOKEN: "t" }),
    args: ["status"],
    env: env({ HOME: "/home/op" }),
  });
  assert.deepEqual(flag(fromEnv, "--allow-net"), ["10.0.0.5:8080"]);
  assert.deepEqual(flag(fromEnv, "--allow-write"), ["/home/op/.config/despacito"]);
  const fromStore = operatorPermissionFlags({
    config: loadConfig({}),
    args: ["logs", "-f", "x"],
    env: env({ HOME: "/home/op" }),
    storedServer: (dir) => dir === "/home/op/.config/despacito" ? "http://ci.internal" : undefined,
  });
  assert.deepEqual(flag(fromStore, "--allow-net"), ["ci.internal:80"]);
  const nowhere = operatorPermissionFlags({
    config: loadConfig({}),
    args: ["status"],
    env: env({}),
  });
  assert.equal(flag(nowhere, "--allow-net"), undefined, "not signed in: no network at all");
  assert.equal(flag(nowhere, "--allow-write"), undefined);
});

Deno.test("flagsForCommand() keeps the server's flags for server and admin commands", () => {
  const config = loadConfig({ DESPACITO_DATA_DIR: "/var/lib/despacito" });
  for (const args of [["serve"], [], ["user", "list"], ["token", "create"], ["migrate"]]) {
    const flags = flagsForCommand(args, { config }, env({ HOME: "/home/op" }));
    assert.deepEqual(flag(flags, "--allow-write"), ["/var/lib/despacito"], args.join(" "));
    assert.ok(flag(flags, "--allow-run"), "the server's programs");
  }
  const op = flagsForCommand(["status"], { config }, env({ HOME: "/home/op" }));
  assert.ok(!op.some((f) => f.includes("/var/lib/despacito")), "no server places for operators");
});
