/**
 * nix/package.nix as far as this machine can build it (no nixpkgs, and no
 * denort to download):
 *  - the fixed-output npm dependencies: `deno install --frozen` of the
 *    server's deno.json/deno.lock into a clean directory, stripped as the
 *    derivation strips it, holds no test-only package (issue 12, item 9) and
 *    hashes (Debian's `nix hash path`) to the hash committed for each system;
 *    a stale hash fails here instead of being silently reused by Nix;
 *  - the build from those dependencies alone: the program files the package
 *    selects (nix/program-files.json) plus that node_modules, a fresh
 *    DENO_DIR and HOME, no other environment, and no network (`unshare -n`):
 *    `deno task compile` bundles the UI and compiles without even attempting
 *    a download, with this test's own deno standing in for
 *    denort, and the binary carries exactly the server's packages.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_DIR } from "./_harness/server.ts";

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; offline?: boolean } = {},
): Promise<{ stdout: string; stderr: string }> {
  // Without a network namespace nothing can be downloaded; -r maps root for non-root users.
  const [program, argv] = options.offline
    ? ["unshare", [Deno.uid() === 0 ? "-n" : "-rn", "--", cmd, ...args]]
    : [cmd, args];
  const r = await new Deno.Command(program, {
    args: argv,
    cwd: options.cwd,
    // A given environment is the whole environment, as in the Nix sandbox: nothing leaks in
    // from the machine or from other tests of the same process.
    env: options.env,
    clearEnv: options.env !== undefined,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const [stdout, stderr] = [decode(r.stdout), decode(r.stderr)];
  assert.equal(r.code, 0, `${cmd} ${args.join(" ")} failed:\n${stdout}\n${stderr}`);
  return { stdout, stderr };
}

async function committedHashes(): Promise<Record<string, string>> {
  const nix = await Deno.readTextFile(join(REPO_DIR, "nix/package.nix"));
  const block = nix.match(/npmDepsHashes = \{([^}]*)\}/)?.[1] ?? "";
  return Object.fromEntries(
    [...block.matchAll(/([\w-]+) = "(sha256-[^"]+)";/g)].map((m) => [m[1], m[2]]),
  );
}

/** The npm dependencies as the fixed-output derivation builds them, for one platform. */
async function npmDeps(dir: string, arch: "x64" | "arm64"): Promise<string> {
  await Deno.mkdir(dir);
  for (const f of ["deno.json", "deno.lock"]) await Deno.copyFile(join(REPO_DIR, f), join(dir, f));
  await run("deno", ["install", "--frozen", "--os", "linux", "--arch", arch], { cwd: dir });
  for (const f of [".setup-cache.bin", ".deno.lock", ".deno.lock.poll"]) {
    await Deno.remove(join(dir, "node_modules/.deno", f)).catch(() => {});
  }
  return join(dir, "node_modules");
}

async function nixHash(path: string): Promise<string> {
  return (await run("nix", [
    "--extra-experimental-features",
    "nix-command",
    "--option",
    "build-users-group",
    "",
    "hash",
    "path",
    path,
  ])).stdout.trim();
}

/** deno.lock's npm keys as node_modules/.deno directory names. */
async function lockedDirs(): Promise<string[]> {
  const lock = JSON.parse(await Deno.readTextFile(join(REPO_DIR, "deno.lock")));
  return Object.keys(lock.npm).map((k) => {
    const at = k.indexOf("@", 1);
    return `${k.slice(0, at).replace("/", "+")}@${k.slice(at + 1).split("_")[0]}`;
  });
}

Deno.test("nix/package.nix: npm dependencies hold no test package and match the committed hashes", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "despacito-fod-" });
  try {
    const hashes = await committedHashes();
    for (const [system, arch] of [["x86_64-linux", "x64"], ["aarch64-linux", "arm64"]] as const) {
      const modules = await npmDeps(join(tmp, system), arch);
      const installed = [...Deno.readDirSync(join(modules, ".deno"))].map((e) => e.name);
      const testOnly = installed.filter((n) =>
        /^(playwright-core|axe-core|oidc-provider|koa|@types\+)/.test(n)
      );
      assert.deepEqual(testOnly, [], "test-only packages in the server's install");
      assert.ok(installed.some((n) => n.startsWith(`@esbuild+linux-${arch}@`)), installed.join());
      const got = await nixHash(modules);
      assert.equal(
        hashes[system],
        got,
        `nix/package.nix npmDepsHashes.${system} is stale for this deno.lock: set it to "${got}"`,
      );
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("nix/package.nix: the UI bundle and deno compile run offline from the npm dependencies alone", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "despacito-offline-" });
  try {
    const files = JSON.parse(await Deno.readTextFile(join(REPO_DIR, "nix/program-files.json")));
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    await run("cp", ["-a", "--parents", ...files.program, src], { cwd: REPO_DIR });
    await run("cp", ["-a", await npmDeps(join(tmp, "deps"), "x64"), join(src, "node_modules")]);
    await run("chmod", ["-R", "u+w", join(src, "node_modules")]);
    await Deno.remove(join(src, "ui/dist"), { recursive: true }).catch(() => {});

    // What package.nix's buildPhase exports; this deno stands in for nixpkgs' denort.
    const denort = Deno.execPath();
    await Deno.mkdir(join(tmp, "tmp"));
    const env = {
      PATH: Deno.env.get("PATH")!,
      HOME: join(tmp, "home"),
      TMPDIR: join(tmp, "tmp"),
      DENO_DIR: join(tmp, "deno-dir"),
      DENO_NO_UPDATE_CHECK: "1",
      DENORT_BIN: denort,
      DESPACITO_BUILD_COMMIT: "0ff11e",
      DESPACITO_FLAKE_DIR: "/var/lib/despacito/flake",
    };
    const { stderr: log } = await run("deno", ["task", "compile", "--output", "despacito"], {
      cwd: src,
      env,
      offline: true,
    });
    assert.match(log, /--include ui\/dist/);
    // Not even attempted: a download that fails offline may be tolerated, or may hang a sandbox.
    assert.doesNotMatch(log, /Download/);
    assert.ok((await Deno.stat(join(src, "ui/dist/index.html"))).isFile);

    // The binary is denort followed by the program: list the packages its file system holds.
    const binary = await Deno.readFile(join(src, "despacito"));
    const payload = decode(binary.subarray((await Deno.stat(denort)).size));
    const embedded = [...new Set(payload.match(/\{"Dir":\{"n":"(@?[\w.-]+(\+[\w.-]+)?@\d[^"]*)"/g))]
      .map((m) => m.slice('{"Dir":{"n":"'.length, -1))
      .sort();
    const expected = (await lockedDirs()).filter((d) => !/^(esbuild|@esbuild\+)/.test(d)).sort();
    assert.deepEqual(embedded, expected);
    assert.match(payload, /"commit":"0ff11e"/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
