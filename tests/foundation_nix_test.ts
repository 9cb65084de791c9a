/**
 * Every Nix file of the repository parses (Debian's nix-instantiate). The
 * module is evaluated in nix_module_test.ts and the package's build is
 * simulated in nix_package_test.ts; building for real needs nixpkgs.
 */

import assert from "node:assert/strict";
import { REPO_DIR } from "./_harness/server.ts";

const NIX_FILES = [
  "flake.nix",
  "nix/package.nix",
  "nix/module.nix",
  "tests/nix/nixos_options.nix",
  "tests/nix/pkgs_stub.nix",
  "tests/nix/eval_module.nix",
];

Deno.test("the list of Nix files is complete", async () => {
  const r = await new Deno.Command("git", {
    args: ["ls-files", "--cached", "--others", "--exclude-standard", "*.nix"],
    cwd: REPO_DIR,
    stdout: "piped",
  }).output();
  const found = new TextDecoder().decode(r.stdout).trim().split("\n").sort();
  assert.deepEqual(found, [...NIX_FILES].sort());
});

for (const file of NIX_FILES) {
  Deno.test(`nix-instantiate --parse ${file} succeeds`, async () => {
    const r = await new Deno.Command("nix-instantiate", {
      args: ["--parse", `${REPO_DIR}/${file}`],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  });
}
