/**
 * Are git, nix and colmena there and runnable, and is the flake dir a clean
 * git work tree with flake.nix and flake.lock? Asked at start (versions
 * logged), by /health/ready (cached for a few seconds, so probes stay
 * cheap) and by every deployment's preflight, before anything is written:
 * a missing colmena must not cost a deploy commit and a revert.
 */

import { join } from "node:path";
import type { Config } from "../config/config.ts";
import type { Executor } from "../exec/run.ts";
import { flakeRepo } from "./git.ts";

export interface ToolsReport {
  versions: Partial<Record<"git" | "nix" | "colmena", string>>;
  /** Every problem found, in words an operator can act on; empty when usable. */
  problems: string[];
  /** Uncommitted paths in the flake repo (also one of the problems). */
  dirty: string[];
  /** The flake repo's HEAD when it could be read. */
  head: string | null;
}

export interface ToolCheck {
  /** Runs the checks now. `dirtyOk`: a deployment in progress may have flake.lock changed. */
  check(o?: { dirtyOk?: boolean }): Promise<ToolsReport>;
  /** The last report if it is fresh enough, else a new one. */
  cached(o?: { dirtyOk?: boolean }): Promise<ToolsReport>;
}

const CACHE_MS = 5_000;
/**
 * How long a successful `--version` probe stands for a deployment's check: three
 * processes per deployment otherwise, for programs that do not come and go between two
 * deployments a minute apart. The work tree is read every time.
 */
const VERSIONS_MS = 60_000;

export function createToolCheck(o: {
  exec: Executor;
  config: Readonly<Config>;
  flakeDir: string;
}): ToolCheck {
  const programs = [
    ["git", o.config.gitBin],
    ["nix", o.config.nixBin],
    ["colmena", o.config.colmenaBin],
  ] as const;
  let last: { at: number; dirtyOk: boolean; report: ToolsReport } | undefined;
  let probed: { at: number; versions: ToolsReport["versions"] } | undefined;

  const probe = async (report: ToolsReport) => {
    if (probed && Date.now() - probed.at < VERSIONS_MS) {
      report.versions = { ...probed.versions };
      return;
    }
    await Promise.all(programs.map(async ([name, bin]) => {
      try {
        const r = await o.exec([bin, "--version"], {
          timeoutMs: 10_000,
          ownGroup: false,
        });
        if (r.code !== 0) {
          report.problems.push(`${name} (${bin}) --version exited with ${r.code}`);
        } else report.versions[name] = r.stdout.trim().split("\n")[0] ?? "";
      } catch (e) {
        report.problems.push(`${name} (${bin}) cannot be run: ${(e as Error).message}`);
      }
    }));
    probed = report.problems.length === 0
      ? { at: Date.now(), versions: { ...report.versions } }
      : undefined;
  };

  const check = async (opts: { dirtyOk?: boolean } = {}): Promise<ToolsReport> => {
    const report: ToolsReport = { versions: {}, problems: [], dirty: [], head: null };
    const git = flakeRepo({ exec: o.exec, config: o.config, dir: o.flakeDir });
    // The versions and the work tree at once: git runs whether or not its probe is done.
    const [, tree] = await Promise.all([probe(report), git.status().catch((e: Error) => e)]);
    for (const f of ["flake.nix", "flake.lock"]) {
      try {
        await Deno.stat(join(o.flakeDir, f));
      } catch {
        report.problems.push(`${join(o.flakeDir, f)} is missing`);
      }
    }
    if (report.versions.git !== undefined) {
      if (tree instanceof Error) {
        report.problems.push(
          (await git.isWorkTree())
            ? `cannot read the flake repo: ${tree.message}`
            : `${o.flakeDir} is not a git work tree`,
        );
      } else {
        report.head = tree.head;
        const dirty = tree.dirty.filter((p) => !(opts.dirtyOk && p === "flake.lock"));
        if (dirty.length > 0) {
          report.dirty = dirty;
          report.problems.push(
            `the flake repo has uncommitted changes, refusing to deploy: ${dirty.join(", ")}`,
          );
        }
      }
    }
    last = { at: Date.now(), dirtyOk: !!opts.dirtyOk, report };
    return report;
  };

  return {
    check,
    async cached(opts = {}) {
      if (last && Date.now() - last.at < CACHE_MS && last.dirtyOk === !!opts.dirtyOk) {
        return last.report;
      }
      return await check(opts);
    },
  };
}
