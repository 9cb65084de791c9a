import assert from "node:assert/strict";
import { interpretDelivery } from "./events.ts";
import { pinnedFlakeRef } from "./flake_ref.ts";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const OTHER = "fedcba9876543210fedcba9876543210fedcba98";

Deno.test("interpretDelivery() deploys a release once final, by `published` or `updated`", () => {
  const rel = (action: string, extra = {}) => ({
    action,
    release: { tag_name: "v1.2.0", draft: false, prerelease: false, ...extra },
  });
  assert.deepEqual(interpretDelivery("release", rel("published"), "release"), {
    kind: "deploy",
    tag: "v1.2.0",
    release: true,
  });
  // A promoted pre-release or a published draft whose tag exists arrives as `updated`.
  assert.deepEqual(interpretDelivery("release", rel("updated"), "release"), {
    kind: "deploy",
    tag: "v1.2.0",
    release: true,
  });
  assert.equal(
    interpretDelivery("release", rel("updated", { prerelease: true }), "release").kind,
    "ignore",
  );
  assert.equal(interpretDelivery("release", rel("deleted"), "release").kind, "ignore");
  assert.deepEqual(interpretDelivery("release", rel("published", { draft: true }), "release"), {
    kind: "ignore",
    reason: "draft release",
  });
  assert.equal(interpretDelivery("release", rel("published"), "tag").kind, "ignore");
});

Deno.test("interpretDelivery() deploys tag create and tag push, ignores branches and deletions", () => {
  assert.deepEqual(
    interpretDelivery("create", { ref: "refs/tags/v2", ref_type: "tag", sha: SHA }, "tag"),
    { kind: "deploy", tag: "v2" },
  );
  assert.deepEqual(
    interpretDelivery("create", { ref: "v2", ref_type: "tag", sha: SHA }, "tag"),
    { kind: "deploy", tag: "v2" },
  );
  assert.equal(
    interpretDelivery("create", { ref: "main", ref_type: "branch", sha: SHA }, "tag").kind,
    "ignore",
  );
  assert.deepEqual(
    interpretDelivery(
      "push",
      { ref: "refs/tags/v3", after: OTHER, head_commit: { id: SHA } },
      "tag",
    ),
    { kind: "deploy", tag: "v3" },
  );
  assert.deepEqual(
    interpretDelivery("push", { ref: "refs/heads/main", after: SHA }, "tag"),
    { kind: "ignore", reason: "branch push (main)" },
  );
  assert.deepEqual(
    interpretDelivery("push", { ref: "refs/tags/v3", after: "0".repeat(40) }, "tag"),
    { kind: "ignore", reason: "tag deleted" },
  );
  assert.equal(interpretDelivery("issues", {}, "tag").kind, "ignore");
  assert.equal(interpretDelivery(undefined, {}, "tag").kind, "ignore");
});

Deno.test("pinnedFlakeRef() pins git sources to the tag and commit, replacing ref/rev", () => {
  assert.equal(
    pinnedFlakeRef({ type: "git", url: "https://git.example/o/r.git?ref=main&dir=sub" }, "v1", SHA),
    `git+https://git.example/o/r.git?dir=sub&ref=refs/tags/v1&rev=${SHA}`,
  );
  assert.equal(
    pinnedFlakeRef({ type: "git", url: "ssh://git@git.example/o/r.git" }, "v1", undefined),
    "git+ssh://git@git.example/o/r.git?ref=refs/tags/v1",
  );
  assert.equal(
    pinnedFlakeRef({ type: "github", owner: "o", repo: "r" }, "v1", SHA),
    `github:o/r/${SHA}`,
  );
  assert.throws(() => pinnedFlakeRef({ type: "path" }, "v1", SHA), /cannot pin/);
});
