/**
 * The deployment flake's inputs: which packages exist (the root node's
 * inputs in flake.lock), where each is declared to come from (`original`)
 * and what it is pinned to now (`locked`). Re-read whenever flake.lock
 * changes on disk (checked by mtime, size and inode on every call, with one
 * synchronous stat: a few microseconds on the local flake dir, where an
 * asynchronous one costs a trip through the blocking pool, 50-250 µs per
 * webhook), so an operator adding an input needs no restart. Inputs that
 * `follows` another are not packages. Never writes anything.
 */

import { join } from "node:path";
import { type FlakeSource, sourceFromOriginal } from "./flake_ref.ts";

export interface FlakeInput {
  name: string;
  /** The node key in flake.lock (usually the name). */
  node: string;
  declared: FlakeSource;
  original: Record<string, unknown>;
  locked: Record<string, unknown> | undefined;
  lockedRev: string | null;
}

export interface LockFile {
  nodes: Record<string, LockNode>;
  root: string;
  version: number;
}

export interface LockNode {
  inputs?: Record<string, string | string[]>;
  locked?: Record<string, unknown>;
  original?: Record<string, unknown>;
  flake?: boolean;
}

export class FlakeDirError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FlakeDirError";
  }
}

export function parseLock(text: string): LockFile {
  const v = JSON.parse(text);
  if (!v || typeof v !== "object" || typeof v.nodes !== "object" || typeof v.root !== "string") {
    throw new FlakeDirError("flake.lock is not a lock file (no nodes/root)");
  }
  return v as LockFile;
}

/** The root node's inputs that are real nodes (not `follows` paths). */
export function inputsOf(lock: LockFile): FlakeInput[] {
  const root = lock.nodes[lock.root];
  const out: FlakeInput[] = [];
  for (const [name, target] of Object.entries(root?.inputs ?? {})) {
    if (typeof target !== "string") continue;
    const node = lock.nodes[target];
    if (!node?.original) continue;
    const rev = node.locked?.rev;
    out.push({
      name,
      node: target,
      declared: sourceFromOriginal(node.original),
      original: node.original,
      locked: node.locked,
      lockedRev: typeof rev === "string" ? rev : null,
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export interface InputsReader {
  /** All inputs; throws FlakeDirError when the flake dir is unusable. */
  list(): Promise<FlakeInput[]>;
  get(name: string): Promise<FlakeInput | undefined>;
}

export function createInputsReader(flakeDir: string): InputsReader {
  let cache: { key: string; inputs: FlakeInput[] } | undefined;
  const stamp = (file: string) => {
    const s = Deno.statSync(join(flakeDir, file));
    return `${s.mtime?.getTime()}:${s.size}:${s.ino}`;
  };
  const unusable = (e: unknown) =>
    new FlakeDirError(`the flake dir ${flakeDir} has no readable flake.nix and flake.lock`, {
      cause: e,
    });
  const list = async () => {
    // The inputs come from flake.lock alone: only its stamp is checked on every call; flake.nix
    // is looked at when the lock changed (an input added to flake.nix without a new lock is no
    // package yet).
    let key: string;
    try {
      key = stamp("flake.lock");
    } catch (e) {
      throw unusable(e);
    }
    if (cache?.key === key) return cache.inputs;
    try {
      stamp("flake.nix");
    } catch (e) {
      throw unusable(e);
    }
    let text: string;
    try {
      text = await Deno.readTextFile(join(flakeDir, "flake.lock"));
    } catch (e) {
      throw new FlakeDirError(`cannot read ${flakeDir}/flake.lock`, { cause: e });
    }
    let inputs: FlakeInput[];
    try {
      inputs = inputsOf(parseLock(text));
    } catch (e) {
      throw new FlakeDirError(`${flakeDir}/flake.lock is not valid: ${(e as Error).message}`, {
        cause: e,
      });
    }
    cache = { key, inputs };
    return inputs;
  };
  return {
    list,
    get: async (name) => (await list()).find((i) => i.name === name),
  };
}
