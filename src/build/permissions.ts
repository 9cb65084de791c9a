/**
 * The permission flags despacito runs under, defined once. `deno task
 * start`, `deno task compile`, the Nix build and the end-to-end tests all
 * take their flags from here, so what is tested is what ships.
 *
 * Least privilege: read/write only where despacito is configured to work
 * (data dir, flake dir, socket dir), read the config and secret files it is
 * pointed at, run only git, nix, the colmena binary and kill (to end a
 * cancelled colmena's process group), read only the env
 * variables it uses. Network stays open because forges and OIDC issuers are
 * configured at run time (see README, "Permissions").
 */

import { dirname, resolve } from "node:path";
import type { Config } from "../config/config.ts";
import { OPTIONS } from "../config/table.ts";
import {
  isOperatorCommand,
  operatorPermissionFlags,
  readStoredServer,
} from "./operator_permissions.ts";
import { childEnvNames } from "../exec/env.ts";

export interface PermissionInputs {
  config: Readonly<Config>;
  /** Secret files named by *_FILE variables (they must be readable). */
  secretFiles?: string[];
  /**
   * For `deno run`: the checkout, whose migrations/, ui/dist/ and
   * node_modules/ (the embedded database's WASM) are read at run time.
   * A compiled binary carries these inside itself and passes undefined.
   */
  programDir?: string;
  /**
   * More readable places the config cannot name: for the compiled binary,
   * /etc/despacito and the systemd credentials directory, since its flags are
   * fixed at build time while *_FILE paths are chosen at run time.
   */
  extraRead?: string[];
}

/**
 * Environment variables the process itself reads. Children (git, nix,
 * colmena) get only the allowlist of src/exec/env.ts, which despacito must
 * be able to read to pass on: permissionFlags() adds those names.
 */
export const ENV_ALLOW = [
  "DESPACITO_*",
  // postgres.js falls back to libpq's variables.
  "PG*",
  "USER",
  "USERNAME",
  "HOME",
  "TMPDIR",
  "NO_COLOR",
  // systemd's marker that stdout goes to the journal: log lines then carry their priority.
  "JOURNAL_STREAM",
  // The `yaml` package (DESPACITO_CONFIG) reads these two debug switches on every parse; without
  // them any settings file stopped startup with "Requires env access to LOG_TOKENS".
  "LOG_TOKENS",
  "LOG_STREAM",
];

export function permissionFlags(inputs: PermissionInputs): string[] {
  const c = inputs.config;
  const abs = (p: string) => resolve(p);
  // The server key's directory: `secrets rotate-key` writes the new key and the old one's backup there.
  const keyDir = c.secretKeyFile ? dirname(c.secretKeyFile) : undefined;
  const writable = [
    c.dataDir,
    c.flakeDir,
    c.listenSocket ? dirname(c.listenSocket) : undefined,
    keyDir,
  ]
    .filter((p): p is string => !!p).map(abs);
  const readable = [
    ...writable,
    c.configFile,
    // The flake remote's credentials and the signing key: checked at start (git/ssh read them).
    c.flakeSshKeyFile,
    c.flakeKnownHostsFile,
    c.flakeTokenFile,
    c.gitSigningKeyFile,
    // Not a *_FILE secret (a plain-env admin password is deliberately impossible), so named here.
    c.adminPasswordFile,
    ...(inputs.secretFiles ?? []),
    ...(inputs.extraRead ?? []),
    ...(inputs.programDir
      ? ["migrations", "ui/dist", "node_modules", "deno.json", "src/build_info.json"].map((p) =>
        `${inputs.programDir}/${p}`
      )
      : []),
  ].filter((p): p is string => !!p).map(abs);
  // `kill` ends a timed-out or cancelled colmena's whole process group (ssh, nix children):
  // Deno.kill of a group would need --allow-run for every program (src/exec/run.ts).
  // `ps` tells the orphan guard (src/exec/orphans.ts) whether a recorded colmena group is still ours.
  const programs = [c.gitBin, c.nixBin, c.colmenaBin, "kill", "ps"];
  return [
    `--allow-read=${unique(readable).join(",")}`,
    `--allow-write=${unique(writable).join(",")}`,
    `--allow-env=${unique([...ENV_ALLOW, ...childEnvNames(c.execEnv ?? [])]).join(",")}`,
    "--allow-net",
    `--allow-run=${unique(programs).join(",")}`,
    // os.hostname/networkInterfaces are read by the OIDC and Postgres clients.
    "--allow-sys=hostname,networkInterfaces,osRelease,uid,gid",
    // A server must fail on a missing permission, never stop to ask a terminal.
    "--no-prompt",
  ];
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** Secret files the config names, from the raw environment. */
export function secretFilesFrom(env: Record<string, string | undefined>): string[] {
  return OPTIONS.filter((o) => o.secret).map((o) => env[`${o.env}_FILE`]).filter((f): f is string =>
    !!f
  );
}

/**
 * The flags for one invocation (`args` after the program): operator
 * commands get their own, much smaller set (operator_permissions.ts);
 * everything else the server's.
 */
export function flagsForCommand(
  args: string[],
  inputs: PermissionInputs,
  env: (name: string) => string | undefined,
): string[] {
  if (!isOperatorCommand(args)) return permissionFlags(inputs);
  return operatorPermissionFlags({
    config: inputs.config,
    args,
    env,
    secretFiles: inputs.secretFiles,
    programDir: inputs.programDir,
    storedServer: readStoredServer,
  });
}
