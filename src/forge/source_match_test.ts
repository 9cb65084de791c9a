import assert from "node:assert/strict";
import { parseSource } from "../deploy/ports.ts";
import { sourceMismatch } from "./source_match.ts";
import type { DeclaredSource } from "./ports.ts";

const at = (forgeUrl: string, source?: string) => ({
  forgeUrl,
  owner: "acme",
  repo: "webapp",
  source: source === undefined ? undefined : parseSource(source),
});
const src = (ref: string): DeclaredSource => parseSource(ref)!;

Deno.test("sourceMismatch() accepts the forge's own git URLs (https, http, ssh, .git, any case)", () => {
  for (
    const ref of [
      "git+https://forge.example/acme/webapp",
      "git+https://forge.example/acme/webapp.git?ref=refs/tags/v1",
      "git+https://FORGE.example/Acme/WebApp.git/",
      "git+http://forge.example/acme/webapp",
      "git+ssh://git@forge.example/acme/webapp.git",
      "git+ssh://git@forge.example:2222/acme/webapp.git",
      "git+https://forge.example/acme/webapp?dir=nix",
    ]
  ) {
    assert.equal(sourceMismatch(at("https://forge.example"), src(ref)), undefined, ref);
  }
  // A forge under a path prefix: https keeps the prefix, ssh does not have it.
  const sub = at("https://example.com/git");
  assert.equal(sourceMismatch(sub, src("git+https://example.com/git/acme/webapp")), undefined);
  assert.equal(sourceMismatch(sub, src("git+ssh://git@example.com/acme/webapp")), undefined);
  assert.match(sourceMismatch(sub, src("git+https://example.com/acme/webapp"))!, /is not/);
});

Deno.test("sourceMismatch() refuses other hosts, ports, repos, schemes and fetchers", () => {
  const forge = at("https://forge.example");
  for (
    const ref of [
      "git+https://evil.example/acme/webapp.git",
      "git+https://forge.example:8443/acme/webapp.git",
      "git+https://forge.example/acme/webapp2",
      "git+https://forge.example/other/acme/webapp",
      "git+file:///srv/acme/webapp",
      "github:acme/webapp",
      "gitlab:acme/webapp?host=forge.example",
      "https://forge.example/acme/webapp/archive/v1.tar.gz",
    ]
  ) {
    assert.ok(sourceMismatch(forge, src(ref)), ref);
  }
});

Deno.test("sourceMismatch() with source_url matches exactly that location, any ref/rev", () => {
  const mirror = at("https://forge.example", "git+file:///srv/mirrors/webapp");
  const rev = "0123456789abcdef0123456789abcdef01234567";
  assert.equal(
    sourceMismatch(mirror, src(`git+file:///srv/mirrors/webapp?ref=refs/tags/v1&rev=${rev}`)),
    undefined,
  );
  assert.equal(sourceMismatch(mirror, src("git+file:///srv/mirrors/webapp.git/")), undefined);
  assert.match(
    sourceMismatch(mirror, src("git+https://forge.example/acme/webapp"))!,
    /source_url/,
    "stating a mirror replaces the forge's URLs",
  );
  assert.ok(sourceMismatch(mirror, src("git+file:///srv/mirrors/other")));
  assert.ok(sourceMismatch(mirror, src("file:///srv/mirrors/webapp")), "another fetcher");
  const gh = at("https://forge.example", "github:Acme/WebApp");
  assert.equal(sourceMismatch(gh, src(`github:acme/webapp/${rev}`)), undefined);
  assert.ok(sourceMismatch(gh, src("github:acme/webapp?host=ghe.example")));
});
