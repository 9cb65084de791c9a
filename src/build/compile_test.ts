import assert from "node:assert/strict";
import {
  buildEnv,
  compileArgs,
  DEFAULT_EXTRA_READ,
  NIXOS_PATHS,
  unembeddableFiles,
  unshippedPackages,
} from "./compile.ts";

const valueOf = (argv: string[], flag: string) =>
  argv.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1).split(",");

Deno.test("compileArgs() builds for the NixOS paths with the shared permission flags", () => {
  const argv = compileArgs({
    env: {},
    output: "despacito",
    includeUi: false,
    extraRead: DEFAULT_EXTRA_READ,
  });
  assert.deepEqual(argv.slice(0, 3), ["compile", "--node-modules-dir=manual", "--no-check"]);
  assert.deepEqual(argv.slice(-5), ["--include", "migrations", "--output", "despacito", "main.ts"]);
  assert.deepEqual(valueOf(argv, "--allow-write"), [
    "/var/lib/despacito",
    "/var/lib/despacito/flake",
    "/run/despacito",
  ]);
  assert.deepEqual(valueOf(argv, "--allow-read"), [
    "/var/lib/despacito",
    "/var/lib/despacito/flake",
    "/run/despacito",
    "/etc/despacito",
    "/run/credentials/despacito.service",
  ]);
  assert.deepEqual(valueOf(argv, "--allow-run"), ["git", "nix", "colmena", "kill", "ps"]);
  assert.ok(argv.includes("--no-prompt"));
  assert.ok(!argv.includes("-A") && !argv.includes("--allow-all"));
  assert.ok(!argv.some((a) => a.includes("node_modules")), "npm code is embedded, not read");
});

Deno.test("compileArgs() embeds the UI when built and honours DESPACITO_* overrides", () => {
  const argv = compileArgs({
    env: {
      DESPACITO_FLAKE_DIR: "/srv/fleet",
      DESPACITO_COLMENA_BIN: "/nix/store/abc-colmena/bin/colmena",
      DESPACITO_TEST_POSTGRES_URI: "ignored: not an option",
    },
    output: "out/despacito",
    includeUi: true,
    extraRead: [],
  });
  assert.deepEqual(argv.slice(-7), [
    "--include",
    "migrations",
    "--include",
    "ui/dist",
    "--output",
    "out/despacito",
    "main.ts",
  ]);
  assert.ok(valueOf(argv, "--allow-write")!.includes("/srv/fleet"));
  assert.ok(valueOf(argv, "--allow-run")!.includes("/nix/store/abc-colmena/bin/colmena"));
});

Deno.test("buildEnv() starts from the NixOS paths and keeps only known options", () => {
  assert.deepEqual(buildEnv({}), { ...NIXOS_PATHS });
  const env = buildEnv({ DESPACITO_DATA_DIR: "/data", DESPACITO_NOPE: "x", DESPACITO_LISTEN: "" });
  assert.equal(env.DESPACITO_DATA_DIR, "/data");
  assert.equal("DESPACITO_NOPE" in env || "DESPACITO_LISTEN" in env, false);
});

Deno.test("unshippedPackages() keeps deno.lock's packages and drops test-only and build-only ones", () => {
  const installed = [
    ".deno.lock",
    ".setup-cache.bin",
    "node_modules",
    "hono@4.13.19",
    "@electric-sql+pglite-socket@0.2.17",
    "@preact+signals@2.11.4",
    "esbuild@0.28.2",
    "@esbuild+linux-x64@0.28.2",
    "playwright-core@1.65.1",
    "@types+node@26.6.6",
  ];
  const lock = [
    "hono@4.13.19",
    "@electric-sql/pglite-socket@0.2.17_@electric-sql+pglite@0.5.16",
    "@preact/signals@2.11.4_preact@11.2.0",
    "esbuild@0.28.2",
    "@esbuild/linux-x64@0.28.2",
  ];
  assert.deepEqual(unshippedPackages(installed, lock), [
    "node_modules/.deno/@esbuild+linux-x64@0.28.2",
    "node_modules/.deno/@types+node@26.6.6",
    "node_modules/.deno/esbuild@0.28.2",
    "node_modules/.deno/playwright-core@1.65.1",
  ]);
});

Deno.test("unembeddableFiles() names bintrees' test data, which deno compile cannot parse", () => {
  const installed = [
    ".deno.lock",
    "node_modules",
    "tdigest@0.1.3",
    "bintrees@1.0.2",
    "hono@4.13.19",
  ];
  assert.deepEqual(unembeddableFiles(installed), [
    "node_modules/.deno/bintrees@1.0.2/node_modules/bintrees/test",
  ]);
  assert.deepEqual(unembeddableFiles(["hono@4.13.19", "@preact+signals@2.11.4"]), []);
});
