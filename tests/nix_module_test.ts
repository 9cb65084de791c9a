/**
 * nix/module.nix evaluated with the real nixpkgs lib (lib.evalModules via
 * Debian's nix-instantiate), next to the NixOS options it touches declared
 * as nixpkgs declares them (tests/nix/nixos_options.nix). No nixpkgs can be
 * fetched here, so packages are stand-ins (tests/nix/pkgs_stub.nix); what is
 * asserted is the systemd unit, users, tmpfiles and the assertions a host
 * configuration produces.
 *
 * The lib comes from DESPACITO_TEST_NIXPKGS_LIB, by default
 * ../shared/nixpkgs-lib/lib beside the checkout (CI clones the repository
 * next to shared/). Without it the tests fail and say so: never a skip.
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { REPO_DIR } from "./_harness/server.ts";

const LIB = Deno.env.get("DESPACITO_TEST_NIXPKGS_LIB") ??
  join(dirname(REPO_DIR), "shared", "nixpkgs-lib", "lib");

interface Unit {
  after: string[];
  requires: string[];
  wants: string[];
  wantedBy: string[];
  restartIfChanged: boolean;
  path: string[];
  environment: Record<string, string>;
  serviceConfig: Record<string, unknown>;
}

interface Evaluated {
  failed: string[];
  service: Unit;
  caddyService: { serviceConfig: Record<string, unknown> } | null;
  tmpfiles: Record<string, Record<string, Record<string, Record<string, string>>>>;
  users: Record<string, { isSystemUser: boolean; group: string; extraGroups: string[] }>;
  groups: string[];
  postgresql: { enable: boolean; ensureDatabases: string[]; ensureUsers: unknown[] };
  systemPackages: string[];
  cli: string[];
  doc: string;
}

async function evaluate(config: Record<string, unknown>): Promise<Evaluated> {
  const libOk = await Deno.stat(join(LIB, "default.nix")).then(() => true, () => false);
  assert.ok(
    libOk,
    `nixpkgs lib not found at ${LIB}: set DESPACITO_TEST_NIXPKGS_LIB to a nixpkgs checkout's lib/ ` +
      "(default: ../shared/nixpkgs-lib/lib beside the repository)",
  );
  const r = await new Deno.Command("nix-instantiate", {
    args: [
      "--option",
      "build-users-group",
      "",
      "--eval",
      "--strict",
      "--json",
      join(REPO_DIR, "tests/nix/eval_module.nix"),
      "--arg",
      "libPath",
      LIB,
      "--argstr",
      "configJson",
      JSON.stringify(config),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 0, `evaluation failed:\n${stderr}`);
  return JSON.parse(new TextDecoder().decode(r.stdout));
}

const despacito = (options: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
  services: { despacito: { enable: true, ...options }, ...more },
});
const CACHED = "/nix/store/00000000000000000000000000000000-despacito/bin/despacito";

Deno.test("module, defaults: hardened unit on the socket, cached package, no caddy user", async () => {
  const e = await evaluate(despacito({}));
  assert.deepEqual(e.failed, []);
  const u = e.service;
  const s = u.serviceConfig;
  assert.equal(s.ExecStart, `${CACHED} serve`);
  assert.equal(s.User, "despacito");
  assert.equal(s.Group, "despacito");
  assert.equal(s.KillMode, "mixed");
  assert.equal(s.TimeoutStopSec, 45);
  assert.equal(u.restartIfChanged, false);
  assert.deepEqual(u.after, ["network-online.target"]);
  assert.deepEqual(u.requires, []);
  assert.deepEqual(u.wantedBy, ["multi-user.target"]);
  assert.deepEqual(s.LoadCredential, []);
  assert.deepEqual(s.ReadWritePaths, []);
  assert.equal(s.StateDirectory, "despacito");
  assert.equal(s.RuntimeDirectory, "despacito");
  assert.equal(s.LimitNOFILE, 65536);
  assert.deepEqual(s.SystemCallFilter, ["@system-service", "~@privileged"]);
  for (const k of ["NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "RemoveIPC"]) {
    assert.equal(s[k], true, k);
  }
  assert.equal(s.ProtectSystem, "strict");
  assert.equal(s.CapabilityBoundingSet, "");
  assert.equal("MemoryDenyWriteExecute" in s, false, "V8's JIT needs W+X memory");
  assert.deepEqual(u.environment, {
    DESPACITO_DATA_DIR: "/var/lib/despacito",
    DESPACITO_FLAKE_DIR: "/var/lib/despacito/flake",
    DESPACITO_LISTEN_SOCKET: "/run/despacito/http.sock",
    DESPACITO_LISTEN_SOCKET_MODE: "0660",
    DESPACITO_LOG_LEVEL: "info",
    DESPACITO_SHUTDOWN_TIMEOUT: "30s",
    GIT_CONFIG_COUNT: "3",
    GIT_CONFIG_KEY_0: "safe.directory",
    GIT_CONFIG_VALUE_0: "/var/lib/despacito/flake",
    GIT_CONFIG_KEY_1: "core.hooksPath",
    GIT_CONFIG_VALUE_1: "/dev/null",
    GIT_CONFIG_KEY_2: "core.fsmonitor",
    GIT_CONFIG_VALUE_2: "false",
    HOME: "/var/lib/despacito",
  });
  // colmena, git, nix, ssh from PATH: the binary's --allow-run names them, no rebuild per host.
  assert.deepEqual(u.path.map((p) => p.replace(/^.*-/, "")), [
    "git",
    "nix",
    "colmena",
    "openssh",
    "procps",
  ]);
  // Item 1: no users.users.caddy entry when Caddy is off (nixpkgs' user assertions pass).
  assert.deepEqual(Object.keys(e.users), ["despacito"]);
  assert.equal(e.users.despacito.isSystemUser, true);
  assert.equal(e.caddyService, null);
  assert.deepEqual(e.tmpfiles, {});
  assert.equal(e.postgresql.enable, false);
  // The admin command: the CLI as the service user with the service's environment.
  assert.deepEqual(e.systemPackages, ["despacito"]);
  const cli = e.cli[0];
  assert.match(cli, /runuser -u despacito -- \/nix\/store\/\S+-despacito\/bin\/despacito "\$@"/);
  assert.match(cli, /^export DESPACITO_LISTEN_SOCKET=\/run\/despacito\/http\.sock$/m);
  assert.match(cli, /^export GIT_CONFIG_KEY_1=core\.hooksPath$/m);
  const syntax = await new Deno.Command("bash", { args: ["-n", "-c", cli], stderr: "piped" })
    .output();
  assert.equal(syntax.code, 0, new TextDecoder().decode(syntax.stderr));
  assert.ok(e.doc.endsWith("nix/module.md"));
});

Deno.test("module, with Caddy: caddy.service joins the group, proxies trusted", async () => {
  const e = await evaluate(despacito({}, { caddy: { enable: true } }));
  assert.deepEqual(e.failed, []);
  assert.deepEqual(e.caddyService?.serviceConfig.SupplementaryGroups, ["despacito"]);
  // The caddy user stays nixpkgs' own: no extraGroups edit.
  assert.deepEqual(e.users.caddy.extraGroups, []);
  assert.equal(e.service.environment.DESPACITO_TRUSTED_PROXIES, "unix");
});

Deno.test("module, database.createLocally: ordered after postgresql.target, peer URI", async () => {
  const e = await evaluate(despacito({ database: { createLocally: true } }));
  assert.deepEqual(e.failed, []);
  assert.deepEqual(e.service.after, ["network-online.target", "postgresql.target"]);
  assert.deepEqual(e.service.requires, ["postgresql.target"]);
  assert.equal(
    e.service.environment.DESPACITO_POSTGRES_CONNECTION_URI,
    "postgresql://despacito@/despacito?host=/run/postgresql",
  );
  assert.deepEqual(e.postgresql, {
    enable: true,
    ensureDatabases: ["despacito"],
    ensureUsers: [{ name: "despacito", ensureDBOwnership: true, ensureClauses: {} }],
  });
});

Deno.test("module, credentials: LoadCredential and *_FILE in the credentials dir", async () => {
  const e = await evaluate(despacito({
    credentials: {
      DESPACITO_OIDC_CLIENT_SECRET: "/run/agenix/oidc",
      DESPACITO_POSTGRES_CONNECTION_URI: "/run/agenix/pg",
    },
    settings: { DESPACITO_BASE_URL: "https://d.example.com", DESPACITO_TOKEN_BOOTSTRAP: false },
  }));
  assert.deepEqual(e.failed, []);
  const s = e.service.serviceConfig;
  assert.deepEqual(s.LoadCredential, [
    "DESPACITO_OIDC_CLIENT_SECRET:/run/agenix/oidc",
    "DESPACITO_POSTGRES_CONNECTION_URI:/run/agenix/pg",
  ]);
  const env = e.service.environment;
  assert.equal(
    env.DESPACITO_OIDC_CLIENT_SECRET_FILE,
    "/run/credentials/despacito.service/DESPACITO_OIDC_CLIENT_SECRET",
  );
  assert.equal(
    env.DESPACITO_POSTGRES_CONNECTION_URI_FILE,
    "/run/credentials/despacito.service/DESPACITO_POSTGRES_CONNECTION_URI",
  );
  assert.equal(env.DESPACITO_OIDC_CLIENT_SECRET, undefined);
  assert.equal(env.DESPACITO_BASE_URL, "https://d.example.com");
  assert.equal(env.DESPACITO_TOKEN_BOOTSTRAP, "false");
  assert.match(
    e.cli[0],
    /^export DESPACITO_OIDC_CLIENT_SECRET_FILE=\/run\/credentials\/despacito\.service\/DESPACITO_OIDC_CLIENT_SECRET$/m,
  );
});

Deno.test("module, flake dir outside the state dir: tmpfiles, writable, rebuilt package", async () => {
  const e = await evaluate(despacito({ flakeDir: "/srv/fleet" }));
  assert.deepEqual(e.failed, []);
  assert.deepEqual(e.tmpfiles, {
    "10-despacito": {
      "/srv/fleet": {
        d: {
          type: "d",
          user: "despacito",
          group: "despacito",
          mode: "0750",
          age: "-",
          argument: "",
        },
      },
    },
  });
  const s = e.service.serviceConfig;
  assert.deepEqual(s.ReadWritePaths, ["/srv/fleet"]);
  assert.equal(e.service.environment.DESPACITO_FLAKE_DIR, "/srv/fleet");
  assert.equal(e.service.environment.GIT_CONFIG_VALUE_0, "/srv/fleet");
  // Write permission for /srv/fleet is baked into the flags: only here is the package rebuilt.
  assert.match(String(s.ExecStart), /-despacito-flakedir-srv-fleet\/bin\/despacito serve$/);

  const inside = await evaluate(despacito({ flakeDir: "/var/lib/despacito/fleet" }));
  assert.equal(inside.service.serviceConfig.ExecStart, `${CACHED} serve`);
  assert.deepEqual(inside.tmpfiles, {});
});

Deno.test("module, bad combinations fail with their assertion messages", async () => {
  const cases: [Record<string, unknown>, string][] = [
    [
      { settings: { DESPACITO_LISTEN_SOCKET: "/tmp/x.sock" } },
      "services.despacito.settings.DESPACITO_LISTEN_SOCKET is set by the module: use services.despacito.socketName.",
    ],
    [
      { settings: { DESPACITO_FLAKE_DIR: "/srv/x" } },
      "services.despacito.settings.DESPACITO_FLAKE_DIR is set by the module: use services.despacito.flakeDir.",
    ],
    [
      { settings: { DESPACITO_COLMENA_BIN: "/bin/colmena" } },
      "services.despacito.settings.DESPACITO_COLMENA_BIN is set by the module: use services.despacito.colmenaPackage.",
    ],
    [
      { settings: { DESPACITO_OIDC_CLIENT_SECRET: "hunter2" } },
      "services.despacito.settings.DESPACITO_OIDC_CLIENT_SECRET would put a secret world-readable into the Nix store: use services.despacito.credentials.DESPACITO_OIDC_CLIENT_SECRET = <file>.",
    ],
    [
      { settings: { DESPACITO_POSTGRES_CONNECTION_URI: "postgres://u:pw@db/x" } },
      "services.despacito.settings.DESPACITO_POSTGRES_CONNECTION_URI would put a secret world-readable into the Nix store: use services.despacito.credentials.DESPACITO_POSTGRES_CONNECTION_URI = <file>.",
    ],
    [
      { settings: { DESPACITO_ADMIN_PASSWORD_FILE: "/root/pw" } },
      "services.despacito.settings.DESPACITO_ADMIN_PASSWORD_FILE would put a secret world-readable into the Nix store: use services.despacito.credentials.DESPACITO_ADMIN_PASSWORD = <file>.",
    ],
    [
      {
        database: { createLocally: true },
        credentials: { DESPACITO_POSTGRES_CONNECTION_URI: "/run/agenix/pg" },
      },
      "services.despacito.database.createLocally and services.despacito.credentials.DESPACITO_POSTGRES_CONNECTION_URI both choose the database: keep one.",
    ],
    [
      { addCaddyToGroup: true },
      "services.despacito.addCaddyToGroup needs services.caddy.enable.",
    ],
  ];
  for (const [options, message] of cases) {
    const e = await evaluate(despacito(options));
    assert.deepEqual(e.failed, [message], JSON.stringify(options));
  }
});

Deno.test("module: a misspelt option fails the evaluation", async () => {
  await assert.rejects(
    evaluate(despacito({ flakeDri: "/srv/x" })),
    /The option `services\.despacito\.flakeDri' does not exist/,
  );
});

Deno.test("module: README's host configuration evaluates without a failed assertion", async () => {
  const e = await evaluate({
    services: {
      despacito: {
        enable: true,
        database: { createLocally: true },
        settings: {
          DESPACITO_BASE_URL: "https://despacito.example.com",
          DESPACITO_TOKEN_BOOTSTRAP: false,
          DESPACITO_CONFIG: "/etc/despacito/deploy.yaml",
          DESPACITO_OIDC_ISSUER_URLS: "https://git.example.com",
          DESPACITO_OIDC_CLIENT_ID: "despacito",
        },
        credentials: {
          DESPACITO_OIDC_CLIENT_SECRET: "/run/agenix/despacito-oidc",
          DESPACITO_ADMIN_PASSWORD: "/run/agenix/despacito-admin",
        },
      },
      caddy: {
        enable: true,
        virtualHosts: {
          "despacito.example.com": { extraConfig: "reverse_proxy unix//run/despacito/http.sock\n" },
        },
      },
    },
  });
  assert.deepEqual(e.failed, []);
  const env = e.service.environment;
  assert.equal(env.DESPACITO_TRUSTED_PROXIES, "unix");
  assert.equal(
    env.DESPACITO_ADMIN_PASSWORD_FILE,
    "/run/credentials/despacito.service/DESPACITO_ADMIN_PASSWORD",
  );
  assert.equal(env.DESPACITO_CONFIG, "/etc/despacito/deploy.yaml");
  assert.deepEqual(e.service.requires, ["postgresql.target"]);
  assert.deepEqual(e.caddyService?.serviceConfig.SupplementaryGroups, ["despacito"]);
});
