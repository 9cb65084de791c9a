/**
 * The flake repository's remote (DESPACITO_FLAKE_REMOTE): clone an empty
 * flake dir at start, refuse a clone of another remote, fetch and
 * fast-forward before a deployment, push despacito's commits after it. The
 * remote is the truth: local commits it lacks are allowed only when they
 * are despacito's own (a push that failed), and they go first, rebased onto
 * whatever the remote has now. A push that keeps failing keeps the commit
 * local and says so (`status()`); nothing is lost. Through the executor,
 * credentials as git_access.ts hands them over. Knows nothing of nix,
 * colmena or the database.
 */

import type { Config } from "../config/config.ts";
import type { Executor, RunResult } from "../exec/run.ts";
import { gitAccess } from "./git_access.ts";
import type { PushedCommitRecord } from "./remote_store.ts";

export interface PushResult {
  pushed: boolean;
  /** HEAD after the push (a rebase gives despacito's commits new shas). */
  head: string;
  /** The commits the remote got, oldest first, with their Deployment-Id/Reverts trailers. */
  commits: PushedCommit[];
  /** Why the commits stay local (the push failed every attempt). */
  error?: string;
}

export type PushedCommit = PushedCommitRecord;

export interface RemoteStatus {
  url: string;
  branch: string;
  /** Local commits the remote lacks (as of the last fetch or push). */
  ahead: number;
  lastError: string | null;
}

/** The remote said no in a way a retry cannot fix: the deployment fails with `code`. */
export class RemoteRefused extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = "RemoteRefused";
    this.code = code;
  }
}

export interface FlakeRemote {
  readonly url: string;
  /** At start: clone an empty dir, or check that the dir is a clone of this remote. */
  ensureClone(): Promise<void>;
  /** Before a deployment: fetch, fast-forward, push despacito's pending commits first. */
  sync(say: (line: string) => void): Promise<PushResult | null>;
  /** After a commit or revert: push, rebasing onto a remote that moved. */
  publish(say: (line: string) => void): Promise<PushResult>;
  status(): Promise<RemoteStatus>;
  /** The local branch back to the remote's head: a commit of ours that conflicts is dropped. */
  reset(): Promise<void>;
}

type RemoteConfig = Pick<
  Config,
  | "gitBin"
  | "gitAuthorName"
  | "gitAuthorEmail"
  | "flakeRemote"
  | "flakeBranch"
  | "flakeSshKeyFile"
  | "flakeKnownHostsFile"
  | "flakeTokenFile"
  | "gitSigningKeyFile"
  | "nixTimeoutMs"
>;

const PUSH_ATTEMPTS = 3;
const ORIGIN = "origin";

export function createRemote(o: {
  exec: Executor;
  config: Readonly<RemoteConfig> & { flakeRemote: string };
  dir: string;
  /** Between push attempts; tests pass 0. */
  retryDelayMs?: number;
}): FlakeRemote {
  const url = o.config.flakeRemote;
  const access = gitAccess(o.config);
  const env = {
    GIT_AUTHOR_NAME: o.config.gitAuthorName,
    GIT_AUTHOR_EMAIL: o.config.gitAuthorEmail,
    GIT_COMMITTER_NAME: o.config.gitAuthorName,
    GIT_COMMITTER_EMAIL: o.config.gitAuthorEmail,
    GIT_TERMINAL_PROMPT: "0",
    GIT_EDITOR: "true",
    GIT_PAGER: "cat",
    ...access.env,
  };
  let branch = o.config.flakeBranch ?? "";
  let lastError: string | null = null;
  // One sync at a time: a follower's refresh and the run of the instance it just became.
  let syncing: Promise<unknown> = Promise.resolve();

  const git = (args: string[]): Promise<RunResult> =>
    o.exec([o.config.gitBin, ...access.args, ...args], {
      cwd: o.dir,
      env,
      timeoutMs: o.config.nixTimeoutMs,
    });
  const must = async (args: string[]) => {
    const r = await git(args);
    if (r.code !== 0) throw new Error(`git ${args[0]} exited with ${r.code}: ${lastLine(r)}`);
    return r.stdout.trim();
  };
  const tracking = () => `refs/remotes/${ORIGIN}/${branch}`;
  const fetch = async () => {
    const r = await git(["fetch", "--quiet", ORIGIN, `+refs/heads/${branch}:${tracking()}`]);
    if (r.code !== 0) throw new Error(`git fetch exited with ${r.code}: ${lastLine(r)}`);
  };
  const isAncestor = async (a: string, b: string) =>
    (await git(["merge-base", "--is-ancestor", a, b])).code === 0;
  /** Local commits the remote lacks, oldest first, with whether they are despacito's. */
  const localOnly = async (): Promise<(PushedCommit & { ours: boolean })[]> => {
    const format = [
      "%H",
      "%ae",
      "%(trailers:key=Deployment-Id,valueonly,separator=)",
      "%(trailers:key=Reverts,valueonly,separator=)",
    ].join("%x00");
    const out = await must(["log", "--reverse", `--format=${format}`, `${tracking()}..HEAD`]);
    return out.split("\n").filter((l) => l !== "").map((l) => {
      const [sha, email, id, reverts] = l.split("\0");
      return {
        sha,
        deploymentId: id || undefined,
        reverts: reverts || undefined,
        ours: email === o.config.gitAuthorEmail && !!id,
      };
    });
  };

  const doSync = async (say: (line: string) => void): Promise<PushResult | null> => {
    try {
      await fetch();
    } catch (e) {
      // Availability over freshness: the deployment runs from what is here; its push waits.
      lastError = (e as Error).message;
      say(`cannot reach the flake remote, deploying from the local branch: ${lastError}`);
      return null;
    }
    const local = await must(["rev-parse", "HEAD"]);
    const upstream = await must(["rev-parse", tracking()]);
    if (local === upstream) return null;
    if (await isAncestor(local, upstream)) {
      await must(["merge", "--ff-only", "--quiet", tracking()]);
      say(`fast-forwarded to ${ORIGIN}/${branch} ${upstream} (was ${local})`);
      return null;
    }
    const pending = await localOnly();
    const foreign = pending.filter((c) => !c.ours);
    if (foreign.length > 0) {
      const diverged = !(await isAncestor(upstream, local));
      throw new RemoteRefused(
        `the flake repo's branch ${branch} ${
          diverged ? "has diverged from" : "has commits not on"
        } the remote (local ${local}, ${ORIGIN}/${branch} ${upstream}; not despacito's: ${
          foreign.map((c) => c.sha.slice(0, 12)).join(", ")
        }); refusing to deploy`,
        "remote_diverged",
      );
    }
    say(`${pending.length} commit(s) of despacito not yet on the remote: pushing them first`);
    const r = await remote.publish(say);
    if (!r.pushed) say(`they stay local for now: ${r.error}`);
    return r;
  };

  const remote: FlakeRemote = {
    url,
    async ensureClone() {
      const entries = await listDir(o.dir);
      if (entries === null || entries.length === 0) {
        await Deno.mkdir(o.dir, { recursive: true });
        const b = o.config.flakeBranch ? ["--branch", o.config.flakeBranch] : [];
        const r = await git(["clone", "--quiet", "--origin", ORIGIN, ...b, "--", url, "."]);
        if (r.code !== 0) {
          throw new Error(`cannot clone DESPACITO_FLAKE_REMOTE into ${o.dir}: ${lastLine(r)}`);
        }
      } else if (!entries.includes(".git")) {
        throw new Error(
          `DESPACITO_FLAKE_DIR ${o.dir} is neither empty nor a git clone; empty it to clone DESPACITO_FLAKE_REMOTE`,
        );
      }
      const got = await git(["remote", "get-url", ORIGIN]);
      const have = got.code === 0 ? got.stdout.trim() : "(no origin remote)";
      if (have !== url) {
        throw new Error(
          `DESPACITO_FLAKE_DIR ${o.dir} is a clone of ${have}, not of DESPACITO_FLAKE_REMOTE ${url}; refusing to use it`,
        );
      }
      const current = (await git(["symbolic-ref", "--short", "HEAD"])).stdout.trim();
      if (!branch) branch = current;
      if (current !== branch) {
        throw new Error(
          `DESPACITO_FLAKE_DIR ${o.dir} has ${
            current || "a detached HEAD"
          } checked out, not DESPACITO_FLAKE_BRANCH ${branch}`,
        );
      }
    },

    sync(say) {
      const run = syncing.catch(() => {}).then(() => doSync(say));
      syncing = run;
      return run;
    },

    async publish(say) {
      let error = "";
      for (let attempt = 1; attempt <= PUSH_ATTEMPTS; attempt++) {
        const commits = await localOnly();
        const push = await git(["push", "--porcelain", ORIGIN, `HEAD:refs/heads/${branch}`]);
        const head = await must(["rev-parse", "HEAD"]);
        if (push.code === 0) {
          await must(["update-ref", tracking(), head]);
          lastError = null;
          say(`pushed ${head} to ${ORIGIN}/${branch}`);
          return { pushed: true, head, commits: commits.map(({ ours: _, ...c }) => c) };
        }
        error = `git push exited with ${push.code}: ${lastLine(push)}`;
        if (!/\[rejected\]|non-fast-forward|fetch first/.test(push.stdout + push.stderr)) {
          say(`push to the flake remote failed (attempt ${attempt}): ${error}`);
          if (attempt < PUSH_ATTEMPTS) await delay((o.retryDelayMs ?? 1_000) * attempt);
          continue;
        }
        // The remote moved: put despacito's commits (flake.lock only) on top of it.
        await fetch();
        const onto = await must(["rev-parse", tracking()]);
        say(`the remote moved meanwhile; rebasing onto ${ORIGIN}/${branch} ${onto}`);
        const rebase = await git(["rebase", "--quiet", tracking()]);
        if (rebase.code !== 0) {
          await git(["rebase", "--abort"]);
          throw new RemoteRefused(
            `cannot rebase onto ${ORIGIN}/${branch} ${onto}: it changed the same lines of flake.lock (${
              lastLine(rebase)
            })`,
            "remote_conflict",
          );
        }
      }
      lastError = error;
      return { pushed: false, head: await must(["rev-parse", "HEAD"]), commits: [], error };
    },

    async status() {
      const r = await git(["rev-list", "--count", `${tracking()}..HEAD`]);
      return { url, branch, ahead: r.code === 0 ? Number(r.stdout.trim()) : 0, lastError };
    },

    async reset() {
      await must(["reset", "--hard", "--quiet", tracking()]);
    },
  };
  return remote;
}

function lastLine(r: RunResult): string {
  if (r.timedOut) return "timed out";
  const lines = (r.stderr + "\n" + r.stdout).split("\n").map((l) => l.trim()).filter((l) =>
    l !== "" && l !== "Done"
  );
  return lines.filter((l) => !l.startsWith("hint:")).slice(-2).join(" / ") || `exit ${r.code}`;
}

async function listDir(dir: string): Promise<string[] | null> {
  try {
    const out: string[] = [];
    for await (const e of Deno.readDir(dir)) out.push(e.name);
    return out;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
