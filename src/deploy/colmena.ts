/**
 * Colmena, from the outside: the argv despacito runs and what its output
 * says about each node. Without a TTY colmena prints plain progress lines
 * `<node, right-aligned> | <text>` on stderr (its PlainOutput); a job for
 * several nodes is labelled `(...)` and the overall job has an empty label.
 * Per node it ends with a success message that depends on the goal
 * ("Activation successful", "Will be activated next boot", …) or a failure
 * "<Step> failed: <error>"; at the very end it logs "Failed to deploy to
 * <node>" style summaries. A node failed by such a summary alone (an
 * evaluation failure fails them all) gets nix's first `error:` as its
 * message, not the summary. This module only parses; it never runs colmena.
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

const LABEL = /^\s*\S* \| /;
const ERROR_LINE = /(^|\| )\s*error:/i;
const HAS_TEXT = /^error:\s*\S/i;

/**
 * The first line of the output that says what went wrong (nix's `error:`, colmena's failures).
 * nix 2.13+ opens an error with a bare `error:` and a trace, and says what broke in an indented
 * `error: <text>` below: the first `error:` with text wins over a bare one.
 */
export function firstErrorLine(lines: string[]): string | undefined {
  const plain = lines.map((l) => l.replace(ANSI, ""));
  const text = (l: string) => l.replace(LABEL, "").trim();
  const errors = plain.filter((l) => ERROR_LINE.test(l)).map(text);
  const failed = plain.find((l) => /\| .*failed: /i.test(l));
  return errors.find((l) => HAS_TEXT.test(l)) ?? errors[0] ??
    (failed === undefined ? undefined : text(failed));
}

/** Accumulates per-node outcomes from colmena's output lines, in order. */
export class NodeOutcomeParser {
  readonly #nodes = new Map<string, NodeOutcome>();
  readonly #goal: Goal;
  /** nix's first `error: <text>`: what a node failed by colmena's summary alone failed of. */
  #error: string | undefined;

  constructor(goal: Goal) {
    this.#goal = goal;
  }

  feed(raw: string): void {
    // Runs on every line colmena prints (tens of thousands for a chatty build): each regex
    // below is tried only on lines holding the literal text it cannot match without.
    const line = raw.includes("\x1b") ? raw.replace(ANSI, "") : raw;
    if (this.#error === undefined && ERROR_LINE.test(line)) {
      const text = line.replace(LABEL, "").trim();
      if (HAS_TEXT.test(text)) this.#error = text;
    }
    const m = line.includes(" | ") ? LINE.exec(line) : null;
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
    const s = line.includes("Failed to ") ? SUMMARY.exec(line) : null;
    if (s) {
      // Not the summary itself (an evaluation failure would repeat it on every node): nix's
      // error, or what failed without its log-prefix and "Last N lines" tail.
      const what = this.#error ?? s[0].replace(/ - Last \d+ lines of logs:$/, "");
      for (const node of splitNodeList(s[1])) {
        const n = this.#ensure(node);
        if (n.status !== "failed") {
          n.status = "failed";
          n.message ??= what;
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
