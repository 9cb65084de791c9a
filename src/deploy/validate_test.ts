import assert from "node:assert/strict";
import { DomainError } from "../core/errors.ts";
import { parseWebhook } from "./validate.ts";

const schemes = ["github", "git+https"];
const good = {
  package: "my-webapp",
  version: "1.4.2",
  nix_store_path: "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-my-webapp-1.4.2",
};

Deno.test("parseWebhook() accepts the seed's request", () => {
  assert.deepEqual(parseWebhook({ ...good, flake_ref: "github:myorg/my-webapp/v1.4.2" }, schemes), {
    package: "my-webapp",
    version: "1.4.2",
    nixStorePath: good.nix_store_path,
    flakeRef: "github:myorg/my-webapp/v1.4.2",
  });
});

Deno.test("parseWebhook() lists every bad field at once", () => {
  try {
    parseWebhook({
      package: 7,
      version: "1.0 beta",
      nix_store_path: "/nix/store/short-x",
      flake_ref: "path:/etc",
    }, schemes);
    assert.fail("expected a DomainError");
  } catch (e) {
    assert.ok(e instanceof DomainError);
    assert.equal(e.code, "invalid_request");
    assert.deepEqual(e.details?.map((d) => d.field), [
      "package",
      "version",
      "nix_store_path",
      "flake_ref",
    ]);
  }
});

Deno.test("parseWebhook() refuses control characters, long versions and store path tricks", () => {
  const bad = (patch: Record<string, unknown>) =>
    assert.throws(() => parseWebhook({ ...good, ...patch }, schemes), DomainError);
  bad({ version: "1.0\n" });
  bad({ version: "x".repeat(129) });
  bad({ version: "" });
  bad({ nix_store_path: `${good.nix_store_path}/bin/sh` });
  bad({ nix_store_path: "/nix/store/0123456789abcdfghijklmnpqrsvwxyE-x" });
  bad({ nix_store_path: "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-../x" });
  bad({ nix_store_path: undefined });
  assert.doesNotThrow(() => parseWebhook({ ...good, version: "x".repeat(128) }, schemes));
});
