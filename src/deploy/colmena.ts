/**
 * Colmena, from the outside: the argv despacito runs and what its output
 * says about each node. Without a TTY colmena prints plain progress lines
 * `<node, right-aligned> | <text>` on stderr (its PlainOutput); a job for
 * several nodes is labelled `(...)` and the overall job has an empty label.
 * Per node it ends with a success message that depends on the goal
 * ("Activation successful", "Will be activated next boot", …) or a failure
 * "<Step> failed: <error>"; at the very end it logs "Failed to deploy to
 * <node>" style summaries. This module only parses; it never runs colmena.
 */

import type { Goal, PackageSettings } from "./settings.ts";

export function colmenaArgv(
  bin: string,
  settings: Pick<PackageSettings, "goal" | "on" | "extraArgs">,
): string[] {
  return [
    bin,
    "apply",
    settings.goal,
    ...(settings.on ? ["--on", settings.on] : []),
    ...settings.extraArgs,
  ];
}

export type NodeStatus = "succeeded" | "failed" | "unknown";

export interface NodeOutcome {
  node: string;
  status: NodeStatus;
  message: string | null;
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
const LINE = /^\s*(\S*) \| (.*)$/;

const SUCCESS: Record<Goal, RegExp> = {
  switch: /^Activation successful$/,
  boot: /^Will be activated next boot$/,
  test: /^Activation successful \(test\)$/,
  "dry-activate": /^Dry activation successful$/,
  build: /^Built ".*"/,
  push: /^Pushed( system closure)?$/,
};
const FAILED = /^(?:(?:Activation|Build|Push|Key upload|Evaluation|Reboot) failed|Failed): (.*)$/;
const SUMMARY =
  /Failed to (?:deploy to|build|push system closure to|evaluate|upload keys to|reboot|complete job on) (.+?)(?: - Last \d+ lines of logs:)?$/;

/** Accumulates per-node outcomes from colmena's output lines, in order. */
export class NodeOutcomeParser {
  readonly #nodes = new Map<string, NodeOutcome>();
  readonly #goal: Goal;

  constructor(goal: Goal) {
    this.#goal = goal;
  }

  feed(raw: string): void {
    const line = raw.replace(ANSI, "");
    const m = LINE.exec(line);
    if (m) {
      const [, label, text] = m;
      if (label === "" || label === "(...)") return;
      const current = this.#ensure(label);
      if (current.status === "failed") return;
      if (SUCCESS[this.#goal].test(text)) {
        current.status = "succeeded";
        current.message = text;
      } else {
        const f = FAILED.exec(text);
        if (f) {
          current.status = "failed";
          current.message = text;
        }
      }
      return;
    }
    const s = SUMMARY.exec(line);
    if (s) {
      for (const node of splitNodeList(s[1])) {
        const n = this.#ensure(node);
        if (n.status !== "failed") {
          n.status = "failed";
          n.message ??= line.trim();
        }
      }
    }
  }

  #ensure(node: string): NodeOutcome {
    let n = this.#nodes.get(node);
    if (!n) {
      n = { node, status: "unknown", message: null };
      this.#nodes.set(node, n);
    }
    return n;
  }

  outcomes(): NodeOutcome[] {
    return [...this.#nodes.values()].map((n) => ({ ...n }))
      .sort((a, b) => a.node.localeCompare(b.node));
  }
}

/** "alpha, beta, and gamma" → [alpha, beta, gamma]; "and 5 other nodes" is dropped. */
function splitNodeList(text: string): string[] {
  return text.split(/, and |, | and /).map((s) => s.trim())
    .filter((s) => s !== "" && !/^\d+ other nodes$/.test(s) && !s.includes(" "));
}
