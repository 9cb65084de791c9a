/**
 * The deployment flake on a "forge": a bare repository as
 * DESPACITO_FLAKE_REMOTE, and the team's own clone (the fixture flake dir,
 * with the bare repo as its origin) from which a test pushes changes as a
 * colleague would. despacito clones its own work tree from the bare repo.
 */

import { type DeployFlake, flakeAt, git, run } from "./flakes.ts";

export interface FlakeRemoteFixture {
  /** The bare repository (its path is the remote's URL). */
  url: string;
  /** The team's clone: commit here, then `push()`. */
  team: DeployFlake;
  /** The remote branch's head. */
  head(): Promise<string>;
  /** Subjects of the remote branch, newest first. */
  log(): Promise<string[]>;
  /** Commits every change in the team's clone (a colleague's edit) and pushes it. */
  commitAndPush(message: string): Promise<string>;
  /** The remote goes away (host down) until `restore()`. */
  breakRemote(): Promise<void>;
  restore(): Promise<void>;
}

export async function createFlakeRemote(
  root: string,
  flake: DeployFlake,
): Promise<FlakeRemoteFixture> {
  const url = `${root}/forge/deployment.git`;
  await Deno.mkdir(`${root}/forge`, { recursive: true });
  await run("git", ["clone", "-q", "--bare", flake.dir, url], root);
  await git(flake.dir, "remote", "add", "origin", url);
  await git(flake.dir, "fetch", "-q", "origin");
  await git(flake.dir, "branch", "-q", "--set-upstream-to=origin/main", "main");
  const fixture: FlakeRemoteFixture = {
    url,
    team: flake,
    head: async () => (await git(url, "rev-parse", "refs/heads/main")).trim(),
    log: async () => (await git(url, "log", "--format=%s", "main")).trim().split("\n"),
    async commitAndPush(message) {
      await git(flake.dir, "pull", "-q", "--ff-only");
      await git(flake.dir, "add", "-A");
      await git(flake.dir, "commit", "-q", "-m", message);
      await git(flake.dir, "push", "-q", "origin", "main");
      return await flake.head();
    },
    breakRemote: () => Deno.rename(url, `${url}.away`),
    restore: () => Deno.rename(`${url}.away`, url),
  };
  return fixture;
}

/** despacito's own clone of the remote (it does not exist until despacito starts). */
export const despacitoClone = (root: string): DeployFlake => flakeAt(`${root}/despacito-flake`);
