/**
 * Fixture flakes for deploy tests, built in temp dirs with real git and real
 * nix (git+file:// refs work offline): application repos with one commit and
 * tag per release, and a deployment flake whose inputs point at them. Fixed
 * author and dates make every sha reproducible within a run.
 */

export const GIT_ENV: Record<string, string> = {
  GIT_AUTHOR_NAME: "Fixture Author",
  GIT_AUTHOR_EMAIL: "fixture@example.com",
  GIT_COMMITTER_NAME: "Fixture Author",
  GIT_COMMITTER_EMAIL: "fixture@example.com",
  GIT_AUTHOR_DATE: "2024-01-01T00:00:00Z",
  GIT_COMMITTER_DATE: "2024-01-01T00:00:00Z",
  GIT_CONFIG_NOSYSTEM: "1",
};

export const NIX_FLAGS = ["--extra-experimental-features", "nix-command flakes"];

export async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const r = await new Deno.Command(cmd, {
    args,
    cwd,
    env: GIT_ENV,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  if (!r.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed in ${cwd}: ${dec.decode(r.stderr)}`);
  }
  return dec.decode(r.stdout);
}

export const git = (cwd: string, ...args: string[]) => run("git", args, cwd);

export interface AppRepo {
  name: string;
  dir: string;
  /** The flake URL of the repo itself, e.g. git+file:///tmp/…/webapp */
  url: string;
  /** tag name → commit sha */
  tags: Record<string, string>;
  release(version: string): Promise<string>;
}

/** An application flake with one commit and tag `v<version>` per release. */
export async function createAppRepo(root: string, name: string, versions: string[]) {
  const dir = `${root}/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  await git(dir, "init", "-q", "-b", "main");
  const repo: AppRepo = {
    name,
    dir,
    url: `git+file://${dir}`,
    tags: {},
    async release(version) {
      await Deno.writeTextFile(
        `${dir}/flake.nix`,
        `{ outputs = { self }: { version = "${version}"; }; }\n`,
      );
      await git(dir, "add", "flake.nix");
      await git(dir, "commit", "-q", "-m", `release ${version}`);
      await git(dir, "tag", `v${version}`);
      const sha = (await git(dir, "rev-parse", "HEAD")).trim();
      repo.tags[`v${version}`] = sha;
      return sha;
    },
  };
  for (const v of versions) await repo.release(v);
  return repo;
}

export interface DeployFlake {
  dir: string;
  lock(): Promise<Record<string, unknown>>;
  lockedRev(input: string): Promise<string | undefined>;
  head(): Promise<string>;
  status(): Promise<string>;
  log(): Promise<string[]>;
}

/**
 * A deployment flake whose inputs are the given app repos, locked and
 * committed; `pins` declares an input with a ref (`?ref=refs/tags/v1.0.0`).
 */
export async function createDeployFlake(
  root: string,
  apps: AppRepo[],
  pins: Record<string, string> = {},
): Promise<DeployFlake> {
  const dir = `${root}/deployment`;
  await Deno.mkdir(dir, { recursive: true });
  await git(dir, "init", "-q", "-b", "main");
  const inputs = apps.map((a) =>
    `  inputs.${a.name}.url = "${a.url}${pins[a.name] ? `?ref=${pins[a.name]}` : ""}";`
  ).join("\n");
  const args = apps.map((a) => a.name).join(", ");
  await Deno.writeTextFile(
    `${dir}/flake.nix`,
    `{\n${inputs}\n  outputs = { self, ${args} }: { };\n}\n`,
  );
  await git(dir, "add", "flake.nix");
  await git(dir, "commit", "-q", "-m", "deployment flake");
  await run("nix", [...NIX_FLAGS, "flake", "lock"], dir);
  await git(dir, "add", "flake.lock");
  await git(dir, "commit", "-q", "-m", "lock inputs");
  return flakeAt(dir);
}

/** The test's view of a deployment flake's work tree at `dir`. */
export function flakeAt(dir: string): DeployFlake {
  const flake: DeployFlake = {
    dir,
    lock: async () => JSON.parse(await Deno.readTextFile(`${dir}/flake.lock`)),
    async lockedRev(input) {
      const l = await flake.lock() as { nodes: Record<string, { locked?: { rev?: string } }> };
      return l.nodes[input]?.locked?.rev;
    },
    head: async () => (await git(dir, "rev-parse", "HEAD")).trim(),
    status: async () => await git(dir, "status", "--porcelain", "--untracked-files=all"),
    log: async () => (await git(dir, "log", "--format=%s")).trim().split("\n"),
  };
  return flake;
}
