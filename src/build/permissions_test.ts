import assert from "node:assert/strict";
import { loadConfig } from "../config/config.ts";
import { permissionFlags, secretFilesFrom } from "./permissions.ts";

function flagMap(flags: string[]): Map<string, string[]> {
  return new Map(flags.map((f) => {
    const [name, value] = f.split("=");
    return [name, value === undefined ? [] : value.split(",")];
  }));
}

Deno.test("permissionFlags() grants only the configured places, programs and variables", () => {
  const config = loadConfig({
    DESPACITO_DATA_DIR: "/var/lib/despacito",
    DESPACITO_FLAKE_DIR: "/srv/fleet",
    DESPACITO_LISTEN_SOCKET: "/run/despacito/http.sock",
    DESPACITO_CONFIG: "/etc/despacito/packages.yaml",
    DESPACITO_COLMENA_BIN: "/opt/colmena/bin/colmena",
  });
  const flags = permissionFlags({ config, secretFiles: ["/run/credentials/despacito.service/pg"] });
  const f = flagMap(flags);
  assert.ok(!flags.includes("-A") && !flags.includes("--allow-all"));
  for (const bare of ["--allow-read", "--allow-write", "--allow-run", "--allow-env"]) {
    assert.ok(f.get(bare)!.length > 0, `${bare} is scoped, never bare`);
  }
  assert.deepEqual(f.get("--allow-write"), ["/var/lib/despacito", "/srv/fleet", "/run/despacito"]);
  assert.deepEqual(f.get("--allow-read"), [
    "/var/lib/despacito",
    "/srv/fleet",
    "/run/despacito",
    "/etc/despacito/packages.yaml",
    "/run/credentials/despacito.service/pg",
  ]);
  assert.deepEqual(f.get("--allow-run"), ["git", "nix", "/opt/colmena/bin/colmena", "kill", "ps"]);
  assert.ok(f.get("--allow-env")!.includes("DESPACITO_*"));
  assert.ok(!f.get("--allow-sys")!.includes("") && f.has("--allow-sys"));
  assert.ok(!f.has("--allow-ffi"), "no FFI: the embedded database is WASM");
});

Deno.test("permissionFlags() resolves relative paths and adds the checkout for deno run", () => {
  const config = loadConfig({});
  const f = flagMap(permissionFlags({ config, programDir: "/src/despacito" }));
  const cwd = Deno.cwd();
  assert.deepEqual(f.get("--allow-write"), [`${cwd}/data`]);
  const read = f.get("--allow-read")!;
  assert.ok(read.includes(`${cwd}/data`));
  assert.ok(read.includes("/src/despacito/migrations"));
  assert.ok(read.includes("/src/despacito/node_modules"));
  assert.ok(!read.includes("/src/despacito"), "not the whole checkout");
});

Deno.test("permissionFlags() adds extra readable places (compiled binary: config and credentials dirs)", () => {
  const f = flagMap(permissionFlags({
    config: loadConfig({ DESPACITO_DATA_DIR: "/d" }),
    extraRead: ["/etc/despacito", "/run/credentials/despacito.service"],
  }));
  assert.deepEqual(f.get("--allow-read"), [
    "/d",
    "/etc/despacito",
    "/run/credentials/despacito.service",
  ]);
});

Deno.test("secretFilesFrom() lists the files named by *_FILE variables of secret options", () => {
  assert.deepEqual(
    secretFilesFrom({
      DESPACITO_POSTGRES_CONNECTION_URI_FILE: "/s/pg",
      DESPACITO_LISTEN_FILE: "/not/a/secret/option",
    }),
    ["/s/pg"],
  );
});
