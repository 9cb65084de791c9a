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
}

export interface ToolCheck {
  /** Runs the checks now. `dirtyOk`: a deployment in progress may have flake.lock changed. */
  check(o?: { dirtyOk?: boolean }): Promise<ToolsReport>;
  /** The last report if it is fresh enough, else a new one. */
  cached(o?: { dirtyOk?: boolean }): Promise<ToolsReport>;
}

const CACHE_MS = 5_000;

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

  const check = async (opts: { dirtyOk?: boolean } = {}): Promise<ToolsReport> => {
    const report: ToolsReport = { versions: {}, problems: [], dirty: [] };
    await Promise.all(programs.map(async ([name, bin]) => {
      try {
        const r = await o.exec([bin, "--version"], { timeoutMs: 10_000 });
        if (r.code !== 0) {
          report.problems.push(`${name} (${bin}) --version exited with ${r.code}`);
        } else report.versions[name] = r.stdout.trim().split("\n")[0] ?? "";
      } catch (e) {
        report.problems.push(`${name} (${bin}) cannot be run: ${(e as Error).message}`);
      }
    }));
    for (const f of ["flake.nix", "flake.lock"]) {
      try {
        await Deno.stat(join(o.flakeDir, f));
      } catch {
        report.problems.push(`${join(o.flakeDir, f)} is missing`);
      }
    }
    if (report.versions.git !== undefined) {
      const git = flakeRepo({ exec: o.exec, config: o.config, dir: o.flakeDir });
      try {
        if (!(await git.isWorkTree())) {
          report.problems.push(`${o.flakeDir} is not a git work tree`);
        } else {
          const dirty = (await git.dirtyPaths())
            .filter((p) => !(opts.dirtyOk && p === "flake.lock"));
          if (dirty.length > 0) {
            report.dirty = dirty;
            report.problems.push(
              `the flake repo has uncommitted changes, refusing to deploy: ${dirty.join(", ")}`,
            );
          }
        }
      } catch (e) {
        report.problems.push(`cannot read the flake repo: ${(e as Error).message}`);
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
