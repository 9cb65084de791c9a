/**
 * Drift: what each node should run against what it runs. Expected: the hive
 * evaluated at the flake's HEAD through colmena itself (`colmena eval -E`,
 * each node's tags and system toplevel). Running: `/run/current-system` on
 * every node (`colmena exec -- readlink /run/current-system`, in parallel,
 * with a timeout). A node the check cannot reach is unreachable, not
 * drifted; a node running a system despacito never activated (someone ran
 * nixos-rebuild by hand) is drifted, with what it runs. Runs only colmena,
 * through the deploy area's executor (never beside a deployment's colmena).
 */

import type { Executor } from "../exec/run.ts";
import type { Logger } from "../log/log.ts";
import type { NodeCheckWrite } from "./fleet_store.ts";

/** Each node's tags and toplevel, as JSON (colmena 0.4's `eval -E` takes `{ nodes, ... }`). */
export const EXPECTED_EXPR =
  "{ nodes, ... }: builtins.mapAttrs (name: node: { tags = node.config.deployment.tags; toplevel = node.config.system.build.toplevel.outPath; }) nodes";

/** One node's result (the shape the store records). */
export type NodeCheck = NodeCheckWrite;

export class DriftCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DriftCheckError";
  }
}

const LINE = /^\s*(\S+) \| (.*)$/;
const STORE_PATH = /^\/nix\/store\/[0-9a-z]{32}-\S+$/;

export async function checkFleet(o: {
  exec: Executor;
  colmenaBin: string;
  flakeDir: string;
  timeoutMs: number;
  log: Logger;
}): Promise<NodeCheck[]> {
  const evaluated = await o.exec([o.colmenaBin, "eval", "-E", EXPECTED_EXPR], {
    cwd: o.flakeDir,
    timeoutMs: o.timeoutMs,
    log: o.log,
  });
  if (evaluated.code !== 0) {
    const why = evaluated.stderr.trim().split("\n").find((l) => /error/i.test(l)) ??
      `exited with ${evaluated.code}`;
    throw new DriftCheckError(`colmena eval failed: ${why}`);
  }
  let expected: Record<string, { tags?: unknown; toplevel?: unknown }>;
  try {
    expected = JSON.parse(evaluated.stdout);
  } catch {
    throw new DriftCheckError("colmena eval did not print JSON");
  }
  const running = new Map<string, string>();
  const failed = new Map<string, string>();
  const names = Object.keys(expected).sort();
  const onLine = (_s: string, l: string) => {
    const m = LINE.exec(l);
    if (!m || !names.includes(m[1])) return;
    const text = m[2].trim();
    if (STORE_PATH.test(text)) running.set(m[1], text);
    else if (/failed/i.test(text)) failed.set(m[1], text);
  };
  await o.exec([o.colmenaBin, "exec", "--", "readlink", "/run/current-system"], {
    cwd: o.flakeDir,
    timeoutMs: o.timeoutMs,
    log: o.log,
    onLine,
  });
  return names.map((node) => {
    const e = expected[node];
    const tags = Array.isArray(e?.tags)
      ? e.tags.filter((t): t is string => typeof t === "string")
      : [];
    const want = typeof e?.toplevel === "string" ? e.toplevel : null;
    const have = running.get(node) ?? null;
    const reachable = have !== null;
    return {
      node,
      tags,
      expected: want,
      running: have,
      reachable,
      drift: reachable ? have !== want : null,
      message: reachable ? null : failed.get(node) ?? "no answer from the node",
    };
  });
}
