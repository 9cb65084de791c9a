import assert from "node:assert/strict";
import { DEFAULT_FLAKE_REF_SCHEMES as DEFAULT_SCHEMES } from "../config/flake_ref_schemes.ts";
import {
  FlakeRefError,
  parseFlakeRef,
  sameRepositoryProblem,
  schemeProblem,
  sourceFromOriginal,
} from "./flake_ref.ts";

const sha = "0123456789abcdef0123456789abcdef01234567";

Deno.test("parseFlakeRef() reads forge, git and tarball references", () => {
  assert.deepEqual(parseFlakeRef("github:myorg/my-webapp/v1.4.2"), {
    type: "github",
    scheme: "github",
    owner: "myorg",
    repo: "my-webapp",
    ref: "v1.4.2",
  });
  assert.equal(parseFlakeRef(`github:o/r/${sha}`).rev, sha);
  const g = parseFlakeRef(`git+https://git.example.com/o/r.git?ref=refs/tags/v1&rev=${sha}`);
  assert.equal(g.type, "git");
  assert.equal(g.scheme, "git+https");
  assert.equal(g.url, "https://git.example.com/o/r.git");
  assert.equal(g.ref, "refs/tags/v1");
  assert.equal(g.rev, sha);
  assert.equal(parseFlakeRef("https://example.com/app/v1.tar.gz").type, "tarball");
  assert.equal(parseFlakeRef("https://example.com/app/file").scheme, "file+https");
  assert.equal(parseFlakeRef("path:/etc").scheme, "path");
  assert.equal(parseFlakeRef("/etc/nixos").scheme, "path");
  assert.equal(parseFlakeRef("nixpkgs").type, "indirect");
});

Deno.test("parseFlakeRef() rejects whitespace, bad revs and unknown parameters", () => {
  assert.throws(() => parseFlakeRef("github:o/r v1"), FlakeRefError);
  assert.throws(() => parseFlakeRef("git+https://h/o/r?rev=abc"), /40 hex/);
  assert.throws(() => parseFlakeRef("git+https://h/o/r?evil=1"), /unsupported parameter/);
  assert.throws(() => parseFlakeRef("github:o"), /OWNER\/REPO/);
});

Deno.test("schemeProblem() allows the defaults and refuses path and file refs", () => {
  for (
    const ok of ["github:o/r", "git+https://h/o/r", "git+ssh://git@h/o/r", "https://h/a.tar.gz"]
  ) {
    assert.equal(schemeProblem(parseFlakeRef(ok), DEFAULT_SCHEMES), undefined, ok);
  }
  for (const bad of ["path:/x", "git+file:///x", "file:///x", "/abs", "https://h/a.bin"]) {
    assert.ok(schemeProblem(parseFlakeRef(bad), DEFAULT_SCHEMES), bad);
  }
});

Deno.test("sameRepositoryProblem() lets only ref/rev differ", () => {
  const gh = sourceFromOriginal({ type: "github", owner: "MyOrg", repo: "my-webapp" });
  assert.equal(sameRepositoryProblem(gh, parseFlakeRef("github:myorg/my-webapp/v2")), undefined);
  assert.ok(sameRepositoryProblem(gh, parseFlakeRef("github:evil/my-webapp/v2")));
  assert.ok(sameRepositoryProblem(gh, parseFlakeRef("github:myorg/other/v2")));
  assert.ok(sameRepositoryProblem(gh, parseFlakeRef("github:myorg/my-webapp?host=evil.com")));
  assert.ok(sameRepositoryProblem(gh, parseFlakeRef("git+https://github.com/myorg/my-webapp")));

  const git = sourceFromOriginal({ type: "git", url: "https://git.example.com/o/app.git" });
  assert.equal(
    sameRepositoryProblem(git, parseFlakeRef(`git+https://git.example.com/o/app?rev=${sha}`)),
    undefined,
  );
  assert.ok(sameRepositoryProblem(git, parseFlakeRef("git+https://git.example.com/o/app2")));
  assert.ok(sameRepositoryProblem(git, parseFlakeRef("git+ssh://git.example.com/o/app")));
  assert.ok(sameRepositoryProblem(git, parseFlakeRef("git+https://evil.example.com/o/app")));

  const tar = sourceFromOriginal({ type: "tarball", url: "https://dl.example.com/app/v1.tar.gz" });
  assert.equal(
    sameRepositoryProblem(tar, parseFlakeRef("https://dl.example.com/app/v2.tar.gz")),
    undefined,
  );
  assert.ok(sameRepositoryProblem(tar, parseFlakeRef("https://dl.example.com/other/v2.tar.gz")));
});

Deno.test("parseFlakeRef() refuses refs nix or git would read as options, paths or shell", () => {
  for (
    const bad of [
      "github:acme/webapp#--option",
      "git+https://git.example/acme/webapp?ref=--upload-pack=touch%20/tmp/x",
      "git+https://git.example/acme/webapp?ref=$(id)",
      "git+https://git.example/acme/webapp?ref=../../../etc",
      "github:acme/webapp/-x",
      "github:-acme/webapp",
      "git+https://git.example/acme/webapp?ref=refs/tags/v1@{0}",
      "git+https://git.example/acme/webapp?dir=../x",
      "github:acme/webapp?host=-oProxyCommand=x",
    ]
  ) {
    assert.throws(() => parseFlakeRef(bad), FlakeRefError, bad);
  }
  assert.equal(parseFlakeRef("github:acme/webapp/v1.2.0").ref, "v1.2.0");
  assert.equal(
    parseFlakeRef("git+https://git.example/acme/webapp?ref=refs/tags/v1.2.0").ref,
    "refs/tags/v1.2.0",
  );
});
