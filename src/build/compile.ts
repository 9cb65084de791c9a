/**
 * `deno task compile`: builds the single `despacito` binary with `deno
 * compile`, under the permission flags of permissions.ts computed for the
 * NixOS paths (overridable by DESPACITO_* at build time), with the
 * migrations and, when built, the UI bundle embedded. Writes the git commit
 * into src/build_info.json for the build and puts the file back after.
 *
 * deno compile copies a runtime ("denort") into the binary. It downloads
 * one unless DENORT_BIN names a local copy; the Nix build passes nixpkgs'
 * denort, and offline machines must do the same.
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../config/config.ts";
import { OPTIONS } from "../config/table.ts";
import { permissionFlags } from "./permissions.ts";
import { err } from "../cli/io.ts";

/** Where the NixOS module puts things; a build's flags grant exactly these. */
export const NIXOS_PATHS: Readonly<Record<string, string>> = Object.freeze({
  DESPACITO_DATA_DIR: "/var/lib/despacito",
  DESPACITO_FLAKE_DIR: "/var/lib/despacito/flake",
  DESPACITO_LISTEN_SOCKET: "/run/despacito/http.sock",
});

export interface CompileInputs {
  /** The build-time environment; only DESPACITO_* options are used. */
  env: Readonly<Record<string, string | undefined>>;
  output: string;
  /** Embed ui/dist (only when it has been built). */
  includeUi: boolean;
  /** Readable at run time besides the configured paths (config dir, systemd credentials). */
  extraRead: string[];
}

export const DEFAULT_EXTRA_READ = ["/etc/despacito", "/run/credentials/despacito.service"];

/** The options of the build-time environment, over the NixOS defaults. */
export function buildEnv(env: CompileInputs["env"]): Record<string, string> {
  const known = new Set(OPTIONS.map((o) => o.env));
  const out: Record<string, string> = { ...NIXOS_PATHS };
  for (const [k, v] of Object.entries(env)) {
    // *_FILE paths name run-time files; the extra readable dirs cover them.
    if (known.has(k) && v !== undefined && v !== "") out[k] = v;
  }
  return out;
}

/** The argv (after `deno`) that compiles despacito; run from the checkout. */
export function compileArgs(inputs: CompileInputs): string[] {
  const config = loadConfig(buildEnv(inputs.env));
  const flags = permissionFlags({ config, extraRead: inputs.extraRead });
  return [
    "compile",
    ...flags,
    "--include",
    "migrations",
    ...(inputs.includeUi ? ["--include", "ui/dist"] : []),
    "--output",
    inputs.output,
    "main.ts",
  ];
}

async function gitCommit(programDir: string): Promise<string> {
  const fromEnv = Deno.env.get("DESPACITO_BUILD_COMMIT");
  if (fromEnv) return fromEnv;
  try {
    const r = await new Deno.Command("git", {
      args: ["rev-parse", "--short=12", "HEAD"],
      cwd: programDir,
      stdout: "piped",
      stderr: "null",
    }).output();
    return r.success ? new TextDecoder().decode(r.stdout).trim() : "unknown";
  } catch {
    return "unknown";
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      output: { type: "string", default: "despacito" },
      "extra-read": { type: "string", multiple: true },
    },
  });
  const programDir = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");
  const env: Record<string, string | undefined> = {};
  for (const o of OPTIONS) env[o.env] = Deno.env.get(o.env);
  const argv = compileArgs({
    env,
    output: values.output!,
    includeUi: await exists(`${programDir}/ui/dist/index.html`),
    extraRead: values["extra-read"] ?? DEFAULT_EXTRA_READ,
  });
  if (!Deno.env.get("DENORT_BIN")) {
    err("DENORT_BIN is not set: deno compile will try to download denort.");
  }

  const infoPath = `${programDir}/src/build_info.json`;
  const original = await Deno.readTextFile(infoPath);
  const commit = await gitCommit(programDir);
  await Deno.writeTextFile(infoPath, JSON.stringify({ commit }) + "\n");
  try {
    err(`deno ${argv.join(" ")}`);
    const status = await new Deno.Command("deno", {
      args: argv,
      cwd: programDir,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
    return status.code;
  } finally {
    await Deno.writeTextFile(infoPath, original);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
