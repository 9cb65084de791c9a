import assert from "node:assert/strict";
import { readableUrl } from "./url.ts";

Deno.test("readableUrl decodes a declared URL's escapes and keeps a malformed one", () => {
  assert.equal(
    readableUrl("git+https://git.example.com/acme/webapp.git?ref=refs%2Ftags%2Fv1.0.0"),
    "git+https://git.example.com/acme/webapp.git?ref=refs/tags/v1.0.0",
  );
  assert.equal(readableUrl("github:acme/webapp"), "github:acme/webapp");
  assert.equal(readableUrl("path:/srv/x?ref=%E0%A4%A"), "path:/srv/x?ref=%E0%A4%A");
});
