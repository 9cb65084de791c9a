/**
 * How git reaches the flake's remote and signs despacito's commits, from
 * the configuration: extra `-c` settings and environment for every git call
 * on the flake repo. Credentials stay in files: the SSH key and known_hosts
 * are named in GIT_SSH_COMMAND, the https token is read by a credential
 * helper from a file named in the environment; no secret is ever in argv,
 * a URL or a log line. Knows nothing of deployments.
 */

import type { Config } from "../config/config.ts";

export interface GitAccess {
  /** `-c key=value` pairs put before the git subcommand. */
  args: string[];
  env: Record<string, string>;
  /** Commits are signed (commit.gpgSign is on): never pass --no-gpg-sign. */
  signs: boolean;
}

export type AccessConfig = Pick<
  Config,
  | "flakeRemote"
  | "flakeSshKeyFile"
  | "flakeKnownHostsFile"
  | "flakeTokenFile"
  | "gitSigningKeyFile"
>;

// The helper prints the token git asks for; the file's path comes from the environment.
const TOKEN_HELPER =
  `!f() { test "$1" = get || exit 0; printf 'username=despacito\\npassword=%s\\n' "$(cat "$DESPACITO_GIT_TOKEN_FILE")"; }; f`;

/** Single-quoted for GIT_SSH_COMMAND (run by a shell); a quote in the path is refused at start. */
const q = (p: string) => `'${p}'`;

export function gitAccess(c: AccessConfig): GitAccess {
  const args: string[] = [];
  const env: Record<string, string> = {};
  if (c.flakeRemote) {
    // Never a prompt from ssh either: a missing key or unknown host fails the call.
    const ssh = ["ssh", "-o", "BatchMode=yes"];
    if (c.flakeSshKeyFile) {
      ssh.push("-i", q(c.flakeSshKeyFile), "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none");
    }
    if (c.flakeKnownHostsFile) {
      ssh.push(
        "-o",
        `UserKnownHostsFile=${q(c.flakeKnownHostsFile)}`,
        "-o",
        "StrictHostKeyChecking=yes",
      );
    }
    env.GIT_SSH_COMMAND = ssh.join(" ");
    if (c.flakeTokenFile) {
      // An empty helper first: no helper from the user's git config is asked before ours.
      args.push("-c", "credential.helper=", "-c", `credential.helper=${TOKEN_HELPER}`);
      env.DESPACITO_GIT_TOKEN_FILE = c.flakeTokenFile;
    }
  }
  if (c.gitSigningKeyFile) {
    args.push(
      "-c",
      "gpg.format=ssh",
      "-c",
      `user.signingKey=${c.gitSigningKeyFile}`,
      "-c",
      "commit.gpgSign=true",
    );
  }
  return { args, env, signs: !!c.gitSigningKeyFile };
}

/** Every problem with the credential files, for startup (all at once). */
export async function accessProblems(c: AccessConfig): Promise<string[]> {
  const problems: string[] = [];
  const files: [string, string | undefined][] = [
    ["DESPACITO_FLAKE_SSH_KEY_FILE", c.flakeSshKeyFile],
    ["DESPACITO_FLAKE_KNOWN_HOSTS_FILE", c.flakeKnownHostsFile],
    ["DESPACITO_FLAKE_TOKEN_FILE", c.flakeTokenFile],
    ["DESPACITO_GIT_SIGNING_KEY_FILE", c.gitSigningKeyFile],
  ];
  for (const [name, path] of files) {
    if (!path) continue;
    if (path.includes("'")) problems.push(`${name} must not contain a quote: ${path}`);
    try {
      if (!(await Deno.stat(path)).isFile) problems.push(`${name} is not a file: ${path}`);
    } catch (e) {
      problems.push(`${name} cannot be read: ${path} (${(e as Error).message})`);
    }
  }
  if (c.flakeSshKeyFile && !c.flakeKnownHostsFile) {
    problems.push(
      "DESPACITO_FLAKE_SSH_KEY_FILE needs DESPACITO_FLAKE_KNOWN_HOSTS_FILE (the remote's host key)",
    );
  }
  const remoteless = ["flakeSshKeyFile", "flakeKnownHostsFile", "flakeTokenFile"] as const;
  if (!c.flakeRemote && remoteless.some((k) => c[k])) {
    problems.push("the flake's credentials are set but DESPACITO_FLAKE_REMOTE is not");
  }
  return problems;
}
