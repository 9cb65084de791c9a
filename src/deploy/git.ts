/**
 * The git side of the flake repo, through the executor: is the work tree
 * clean, what is HEAD, commit flake.lock alone with despacito as author,
 * put flake.lock back, and revert a deploy commit with a new commit (history
 * is kept: the repo always says what should run). Knows nothing of nix or
 * deployments beyond the trailers it writes and reads.
 */

import type { Config } from "../config/config.ts";
import { type Executor, runChecked, type Stream } from "../exec/run.ts";
import { type AccessConfig, type GitAccess, gitAccess } from "./git_access.ts";

export interface GitRepo {
  /** Paths (relative to the flake dir) that differ from HEAD, untracked included. */
  dirtyPaths(): Promise<string[]>;
  head(): Promise<string>;
  /** HEAD (null before the first commit) and the dirty paths, from one git process. */
  status(): Promise<{ head: string | null; dirty: string[] }>;
  isWorkTree(): Promise<boolean>;
  /** Commits flake.lock alone; returns the new commit's sha. */
  commitLock(message: string): Promise<string>;
  /** Discards uncommitted changes to flake.lock (what nix wrote). */
  restoreLock(): Promise<void>;
  /** Sets flake.lock to its content at `rev` and commits it; returns the sha (or null: no change). */
  commitLockFrom(rev: string, message: string): Promise<string | null>;
  /** The trailers of a commit's message, e.g. {"Deployment-Id": "…"}. */
  trailers(rev: string): Promise<Record<string, string>>;
  showLock(rev: string): Promise<string>;
}

export interface GitOptions {
  exec: Executor;
  gitBin: string;
  dir: string;
  authorName: string;
  authorEmail: string;
  onLine?: (stream: Stream, line: string) => void;
  // No AbortSignal on purpose: a git call is short (bounded at 2 minutes) and is never cancelled
  // half-way — a cancel waits for it, so no commit or checkout is left half-done.
  /** The remote's credentials and commit signing (git_access.ts). */
  access?: GitAccess;
}

const LOCK = "flake.lock";

/** The flake repo as deployments and restart recovery use it: git and author from config. */
export function flakeRepo(o: {
  exec: Executor;
  config: Pick<Config, "gitBin" | "gitAuthorName" | "gitAuthorEmail"> & AccessConfig;
  dir: string;
  onLine?: GitOptions["onLine"];
}): GitRepo {
  return gitRepo({
    exec: o.exec,
    gitBin: o.config.gitBin,
    dir: o.dir,
    authorName: o.config.gitAuthorName,
    authorEmail: o.config.gitAuthorEmail,
    onLine: o.onLine,
    access: gitAccess(o.config),
  });
}

export function gitRepo(o: GitOptions): GitRepo {
  const env = {
    GIT_AUTHOR_NAME: o.authorName,
    GIT_AUTHOR_EMAIL: o.authorEmail,
    GIT_COMMITTER_NAME: o.authorName,
    GIT_COMMITTER_EMAIL: o.authorEmail,
    // Never wait for an editor, a pager or a credential prompt.
    GIT_TERMINAL_PROMPT: "0",
    GIT_EDITOR: "true",
    GIT_PAGER: "cat",
    ...o.access?.env,
  };
  /** `streamErrors`: git's stderr (warnings, a hook's complaint) goes to the deployment's log. */
  const git = async (args: string[], streamErrors = false) =>
    (await runChecked(o.exec, [o.gitBin, ...(o.access?.args ?? []), ...args], {
      cwd: o.dir,
      env,
      timeoutMs: 120_000,
      onLine: streamErrors && o.onLine ? (s, l) => s === "stderr" && o.onLine!(s, l) : undefined,
      // The flake repo is local here (fetch and push are remote.ts's): git starts no children,
      // hooks and fsmonitor being off (nix/module.nix), so it needs no session of its own —
      // except to sign, where ssh-keygen is its child.
      ownGroup: !!o.access?.signs,
      reapGroup: false,
    })).stdout;

  const repo: GitRepo = {
    async isWorkTree() {
      try {
        return (await git(["rev-parse", "--is-inside-work-tree"])).trim() === "true";
      } catch {
        return false;
      }
    },
    async dirtyPaths() {
      return (await repo.status()).dirty;
    },
    async status() {
      const out = await git([
        "status",
        "--porcelain=v2",
        "--branch",
        "-z",
        "--untracked-files=all",
        "--",
        ".",
      ]);
      const entries = out.split("\0");
      let head: string | null = null;
      const dirty: string[] = [];
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i];
        const oid = /^# branch\.oid ([0-9a-f]{40,64})$/.exec(e);
        if (oid) head = oid[1];
        if (e.startsWith("#") || e.length < 2) continue;
        // Ordinary (1), renamed or copied (2, its source path is the next entry), unmerged (u),
        // untracked (?): the path follows a fixed number of space-separated fields.
        const fields = { "1": 8, "2": 9, "u": 10, "?": 1, "!": 1 }[e[0]];
        if (fields === undefined) continue;
        dirty.push(e.split(" ").slice(fields).join(" "));
        if (e[0] === "2") i++;
      }
      return { head, dirty };
    },
    async head() {
      return (await git(["rev-parse", "HEAD"])).trim();
    },
    async commitLock(message) {
      const sign = o.access?.signs ? [] : ["--no-gpg-sign"];
      // With core.abbrev=no git's summary line names the whole new sha: no `git rev-parse HEAD`
      // (one process less per deployment); asked only if the line is not there.
      const out = await git(
        ["-c", "core.abbrev=no", "commit", "--no-verify", ...sign, "-m", message, "--", LOCK],
        true,
      );
      return committedSha(out) ?? await repo.head();
    },
    async restoreLock() {
      await git(["checkout", "HEAD", "--", LOCK]);
    },
    async commitLockFrom(rev, message) {
      await git(["checkout", rev, "--", LOCK]);
      const staged = (await git(["diff", "--cached", "--name-only", "--", LOCK])).trim();
      if (staged === "") return null;
      return await repo.commitLock(message);
    },
    async trailers(rev) {
      const body = await git(["log", "-1", "--format=%B", rev]);
      const out: Record<string, string> = {};
      for (const line of body.split("\n")) {
        const m = /^([A-Za-z][A-Za-z0-9-]*): (.*)$/.exec(line);
        if (m) out[m[1]] = m[2];
      }
      return out;
    },
    async showLock(rev) {
      return await git(["show", `${rev}:./${LOCK}`]);
    },
  };
  return repo;
}

/**
 * The sha in `git commit`'s summary, `[<branch> <sha>] <subject>` (`[main (root-commit) <sha>]`,
 * `[detached HEAD <sha>]`, translated with LANG): the last word before the first `]`, if it is
 * a whole SHA-1 or SHA-256.
 */
export function committedSha(out: string): string | undefined {
  const m = /^\[[^\]\n]* ([0-9a-f]{40}|[0-9a-f]{64})\] /.exec(out);
  return m?.[1];
}

/** `deploy <package> <version>` plus the trailers README documents. */
export function deployMessage(d: {
  package: string;
  version: string;
  id: string;
  nixStorePath: string | null;
  flakeRef: string;
}): string {
  return [
    `deploy ${d.package} ${d.version}`,
    "",
    `Deployment-Id: ${d.id}`,
    ...(d.nixStorePath ? [`Store-Path: ${d.nixStorePath}`] : []),
    `Flake-Ref: ${d.flakeRef}`,
    "",
  ].join("\n");
}

export function revertMessage(d: {
  package: string;
  version: string;
  id: string;
  commitSha: string;
  reason: string;
}): string {
  return [
    `revert deploy ${d.package} ${d.version}`,
    "",
    d.reason,
    "",
    `Deployment-Id: ${d.id}`,
    `Reverts: ${d.commitSha}`,
    "",
  ].join("\n");
}
