/**
 * The Nix files parse (Debian's nix-instantiate). Building them needs
 * nixpkgs and network, which the test machine does not have.
 */

import assert from "node:assert/strict";
import { REPO_DIR } from "./_harness/server.ts";

for (const file of ["flake.nix", "nix/package.nix", "nix/module.nix"]) {
  Deno.test(`nix-instantiate --parse ${file} succeeds`, async () => {
    const r = await new Deno.Command("nix-instantiate", {
      args: ["--parse", `${REPO_DIR}/${file}`],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  });
}
