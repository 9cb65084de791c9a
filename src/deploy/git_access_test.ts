import assert from "node:assert/strict";
import { accessProblems, gitAccess } from "./git_access.ts";

Deno.test("gitAccess() names credential files, never their content; the token stays out of argv", () => {
  const a = gitAccess({
    flakeRemote: "ssh://git@forge.example.com/ops/hive.git",
    flakeSshKeyFile: "/run/credentials/despacito/flake_key",
    flakeKnownHostsFile: "/var/lib/despacito/known_hosts",
    flakeTokenFile: "/run/credentials/despacito/flake_token",
    gitSigningKeyFile: "/run/credentials/despacito/signing_key",
  });
  assert.equal(
    a.env.GIT_SSH_COMMAND,
    "ssh -o BatchMode=yes -i '/run/credentials/despacito/flake_key' -o IdentitiesOnly=yes -o IdentityAgent=none -o UserKnownHostsFile='/var/lib/despacito/known_hosts' -o StrictHostKeyChecking=yes",
  );
  assert.equal(a.env.DESPACITO_GIT_TOKEN_FILE, "/run/credentials/despacito/flake_token");
  // The helper reads the file when git asks; the token itself is never an argument.
  assert.ok(a.args.some((x) => x.startsWith("credential.helper=!f()")));
  assert.ok(a.args.includes("credential.helper="));
  assert.ok(a.args.includes("gpg.format=ssh"));
  assert.ok(a.args.includes("commit.gpgSign=true"));
  assert.equal(a.signs, true);
});

Deno.test("gitAccess() without a remote or signing key adds nothing", () => {
  assert.deepEqual(gitAccess({}), { args: [], env: {}, signs: false });
});

Deno.test("accessProblems() lists every problem at once", async () => {
  const problems = await accessProblems({
    flakeSshKeyFile: "/nonexistent/key",
    flakeTokenFile: "/nonexistent/it's",
  });
  assert.equal(problems.length, 5, problems.join("\n"));
  assert.match(
    problems.join("\n"),
    /DESPACITO_FLAKE_SSH_KEY_FILE cannot be read: \/nonexistent\/key/,
  );
  assert.match(problems.join("\n"), /must not contain a quote/);
  assert.match(problems.join("\n"), /needs DESPACITO_FLAKE_KNOWN_HOSTS_FILE/);
  assert.match(problems.join("\n"), /DESPACITO_FLAKE_REMOTE is not/);
});
