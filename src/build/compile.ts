/**
 * `deno task compile`: builds the single `despacito` binary with `deno
 * compile`, under the permission flags of permissions.ts computed for the
 * NixOS paths (overridable by DESPACITO_* at build time), with the
 * migrations and, when built, the UI bundle embedded, and the git commit
 * (or DESPACITO_BUILD_COMMIT) in src/build_info.json.
 *
 * Only the server's npm packages go into the binary: deno compile embeds
 * the whole node_modules directory (its --exclude does not reach into it),
 * which may also hold the tests' packages (deno.test.json shares it) and
 * esbuild (build time only). So the compile runs in a staging copy of the
 * program, .compile/, whose node_modules holds exactly deno.lock's packages
 * minus esbuild (and minus the few files deno compile cannot embed, see
 * UNEMBEDDABLE), with --node-modules-dir=manual so Deno takes that directory
 * as it is; the staging copy also carries the commit in src/build_info.json,
 * leaving the checkout untouched. Offline-safe: nothing is downloaded but
 * denort (see below).
 *
 * deno compile copies a runtime ("denort") into the binary. It downloads
 * one unless DENORT_BIN names a local copy; the Nix build passes nixpkgs'
 * denort, and offline machines must do the same.
 */

import { join, resolve } from "node:path";
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
    // The staging dir's node_modules as it is (no install, nothing added).
    "--node-modules-dir=manual",
    // Type-checking is `deno task check`'s job; here it would want @types/node, a test-only package.
    "--no-check",
    ...flags,
    "--include",
    "migrations",
    ...(inputs.includeUi ? ["--include", "ui/dist"] : []),
    "--output",
    inputs.output,
    "main.ts",
  ];
}

/** Packages needed at build time only, never at run time. */
const BUILD_ONLY = /^(esbuild|@esbuild\/.*)$/;

/**
 * The node_modules paths the binary must not carry: packages installed but
 * not in the server's deno.lock (the tests'), and the build-only ones.
 * `installed` lists node_modules/.deno's entries (`name@version`, scopes as
 * `@scope+name@version`); `lockKeys` are deno.lock's npm keys.
 */
export function unshippedPackages(installed: string[], lockKeys: string[]): string[] {
  const dirOf = (key: string) => {
    const at = key.indexOf("@", 1);
    const name = key.slice(0, at);
    const version = key.slice(at + 1).split("_")[0];
    return BUILD_ONLY.test(name) ? undefined : `${name.replace("/", "+")}@${version}`;
  };
  const shipped = new Set(lockKeys.map(dirOf).filter((d) => d !== undefined));
  return installed
    .filter((d) => !d.startsWith(".") && d !== "node_modules" && !shipped.has(d))
    .sort()
    .map((d) => `node_modules/.deno/${d}`);
}

/**
 * Files inside shipped packages that the program never loads and that `deno
 * compile` (Deno 2.9.6) cannot embed: it parses them as JavaScript and its
 * parser overflows the stack, killing the build ("thread 'tokio-runtime-worker'
 * has overflowed its stack"). bintrees (prom-client → tdigest → bintrees)
 * ships test data, test/perf/100k, 200 000 lines of numbers that read as one
 * 200 000-term expression. Package name → paths inside the package; the
 * offline compile test (tests/nix_package_test.ts) finds any new one.
 */
const UNEMBEDDABLE: Readonly<Record<string, readonly string[]>> = { bintrees: ["test"] };

/**
 * The node_modules paths of `installed` (node_modules/.deno's entries) that
 * UNEMBEDDABLE names.
 */
export function unembeddableFiles(installed: string[]): string[] {
  return installed.flatMap((d) => {
    const name = d.slice(0, d.indexOf("@", 1)).replace("+", "/");
    return (UNEMBEDDABLE[name] ?? []).map((p) =>
      `node_modules/.deno/${d}/node_modules/${name}/${p}`
    );
  }).sort();
}

/** Files of the checkout the staging copy needs (the module graph, includes, config). */
const STAGED = [
  "main.ts",
  "deno.json",
  "deno.lock",
  "src",
  "migrations",
  "ui/dist",
  "node_modules",
];

/**
 * Removes `drop` under `dir` and every symlink that points into it (node_modules
 * is a tree of symlinks: top-level names, .bin, hoisted dependencies).
 */
async function prune(dir: string, drop: string[]): Promise<void> {
  const inDrop = (p: string) => drop.some((d) => p === d || p.startsWith(`${d}/`));
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (inDrop(path)) {
      await Deno.remove(path, { recursive: true });
    } else if (e.isSymlink) {
      if (inDrop(resolve(dir, await Deno.readLink(path)))) await Deno.remove(path);
    } else if (e.isDirectory) {
      await prune(path, drop);
    }
  }
}

/** Builds .compile/: the program, the commit, and only the packages the binary ships. */
export async function stage(programDir: string, stageDir: string, commit: string): Promise<void> {
  await Deno.remove(stageDir, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  await Deno.mkdir(stageDir, { recursive: true });
  const present: string[] = [];
  for (const p of STAGED) if (await exists(join(programDir, p))) present.push(p);
  // cp keeps node_modules' symlinks (Deno.symlink would need unscoped permissions).
  const cp = await new Deno.Command("cp", {
    args: ["-a", "--parents", ...present, stageDir],
    cwd: programDir,
    stderr: "piped",
  }).output();
  if (!cp.success) throw new Error(`staging failed: ${new TextDecoder().decode(cp.stderr)}`);
  await Deno.writeTextFile(
    join(stageDir, "src/build_info.json"),
    JSON.stringify({ commit }) + "\n",
  );

  const lock = JSON.parse(await Deno.readTextFile(join(programDir, "deno.lock")));
  const installed: string[] = [];
  for await (const e of Deno.readDir(join(stageDir, "node_modules/.deno"))) installed.push(e.name);
  const drop = unshippedPackages(installed, Object.keys(lock.npm ?? {}))
    .concat(unembeddableFiles(installed))
    // Deno's own bookkeeping of an install (differs between Deno releases) stays behind.
    .concat(
      [".setup-cache.bin", ".deno.lock", ".deno.lock.poll"].map((f) => `node_modules/.deno/${f}`),
    )
    .map((p) => join(stageDir, p));
  await prune(join(stageDir, "node_modules"), drop);
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
  const stageDir = join(programDir, ".compile");
  const env: Record<string, string | undefined> = {};
  for (const o of OPTIONS) env[o.env] = Deno.env.get(o.env);
  const argv = compileArgs({
    env,
    output: resolve(programDir, values.output!),
    includeUi: await exists(`${programDir}/ui/dist/index.html`),
    extraRead: values["extra-read"] ?? DEFAULT_EXTRA_READ,
  });
  if (!Deno.env.get("DENORT_BIN")) {
    err("DENORT_BIN is not set: deno compile will try to download denort.");
  }
  await stage(programDir, stageDir, await gitCommit(programDir));
  try {
    err(`deno ${argv.join(" ")}`);
    const status = await new Deno.Command("deno", {
      args: argv,
      cwd: stageDir,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
    return status.code;
  } finally {
    await Deno.remove(stageDir, { recursive: true });
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
