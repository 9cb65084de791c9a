/**
 * The nix side of a deployment: which command pins an input on this nix
 * (detected once from `nix --version`), and the check that a new flake.lock
 * changed nothing but that input's locked entry (and the inputs of that
 * input). Always passes the experimental-features flag: Debian's nix 2.8
 * needs it and later versions accept it. Never touches git.
 */

import type { Executor } from "../exec/run.ts";
import type { LockFile, LockNode } from "./inputs.ts";

export interface NixVersion {
  major: number;
  minor: number;
  patch: number;
  text: string;
}

export const NIX_FEATURES = ["--extra-experimental-features", "nix-command flakes"];

export function parseNixVersion(text: string): NixVersion | undefined {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  return { major: +m[1], minor: +m[2], patch: +(m[3] ?? 0), text: text.trim() };
}

/** Detects the nix version once per process (memoised by the caller). */
export async function detectNixVersion(exec: Executor, nixBin: string): Promise<NixVersion> {
  const r = await exec([nixBin, "--version"], { timeoutMs: 30_000, ownGroup: false });
  const v = r.code === 0 ? parseNixVersion(r.stdout) : undefined;
  if (!v) throw new Error(`cannot tell the nix version from \`${nixBin} --version\`: ${r.stderr}`);
  return v;
}

const atLeast = (v: NixVersion, major: number, minor: number) =>
  v.major > major || (v.major === major && v.minor >= minor);

/**
 * The argv that points `input` at `ref`, or at the newest revision of its
 * declared source when there is no ref: `nix flake update NAME` from 2.19,
 * `nix flake lock --update-input NAME` before (removed later).
 */
export function lockArgv(
  nixBin: string,
  version: NixVersion,
  input: string,
  ref: string | null,
): string[] {
  if (ref !== null) {
    return [nixBin, ...NIX_FEATURES, "flake", "lock", "--override-input", input, ref];
  }
  return atLeast(version, 2, 19)
    ? [nixBin, ...NIX_FEATURES, "flake", "update", input]
    : [nixBin, ...NIX_FEATURES, "flake", "lock", "--update-input", input];
}

/** Node keys reachable from the root without entering `skip`. */
function reachable(lock: LockFile, skip: string): Set<string> {
  const seen = new Set<string>();
  const visit = (key: string) => {
    if (seen.has(key) || key === skip) return;
    seen.add(key);
    for (const t of Object.values(lock.nodes[key]?.inputs ?? {})) {
      if (typeof t === "string") visit(t);
    }
  };
  visit(lock.root);
  return seen;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

export interface LockChange {
  changed: boolean;
  lockedRev: string | null;
  previousLockedRev: string | null;
  /** Set when something besides the input changed. */
  problem?: string;
}

export function compareLocks(before: LockFile, after: LockFile, input: string): LockChange {
  const inputKey = (l: LockFile) => l.nodes[l.root]?.inputs?.[input];
  const oldKey = inputKey(before);
  const newKey = inputKey(after);
  const rev = (n: LockNode | undefined) =>
    typeof n?.locked?.rev === "string" ? n.locked.rev as string : null;
  const base = {
    changed: !same(before, after),
    previousLockedRev: typeof oldKey === "string" ? rev(before.nodes[oldKey]) : null,
    lockedRev: typeof newKey === "string" ? rev(after.nodes[newKey]) : null,
  };
  if (typeof newKey !== "string") {
    return { ...base, problem: `input ${input} is missing from the new flake.lock` };
  }
  if (before.root !== after.root || before.version !== after.version) {
    return { ...base, problem: "the lock file's version or root changed" };
  }
  const strip = (n: LockNode | undefined) => {
    const inputs = { ...(n?.inputs ?? {}) };
    delete inputs[input];
    return { ...n, inputs };
  };
  if (!same(strip(before.nodes[before.root]), strip(after.nodes[after.root]))) {
    return { ...base, problem: "the root's other inputs changed" };
  }
  const skipOld = typeof oldKey === "string" ? oldKey : "";
  const keep = new Set([...reachable(before, skipOld), ...reachable(after, newKey)]);
  keep.delete(before.root);
  const changed = [...keep].filter((k) => !same(before.nodes[k], after.nodes[k]));
  if (changed.length > 0) {
    return { ...base, problem: `other inputs changed too: ${changed.sort().join(", ")}` };
  }
  return base;
}
