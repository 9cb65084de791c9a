/**
 * What every operator command shares: strict arguments with `--json`
 * (usage errors exit 2), the configuration, the connection to the server,
 * one place that prints a CliError and returns its exit code, and human
 * output that fits 100 columns.
 */

import type { ParseArgsConfig } from "node:util";
import { EXIT, type Parsed, strictArgs, UsageError } from "../args.ts";
import { err, out } from "../io.ts";
import { configOrReport } from "../runtime.ts";
import { CliError, connect, type Remote } from "./client.ts";
import type { Config } from "../../config/config.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

export interface CommandSpec<O extends Options> {
  usage: string;
  options: O;
  positionals?: { min?: number; max?: number };
}

export interface Invocation<O extends Options> {
  values: Parsed<O & { json: { type: "boolean" } }>["values"];
  positionals: string[];
  json: boolean;
  config: Readonly<Config>;
  /** Connects on first use (login and logout manage credentials themselves). */
  remote(): Promise<Remote>;
}

export async function runRemote<O extends Options>(
  spec: CommandSpec<O>,
  args: string[],
  fn: (inv: Invocation<O>) => Promise<number>,
): Promise<number> {
  let parsed;
  try {
    if (args.includes("--help") || args.includes("-h")) {
      out(spec.usage);
      return EXIT.ok;
    }
    parsed = strictArgs(args, { ...spec.options, json: { type: "boolean" } }, spec.positionals);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`despacito: ${e.message}\n${spec.usage}`);
    return EXIT.usage;
  }
  const config = configOrReport();
  if (!config) return EXIT.usage;
  let connected: Remote | undefined;
  try {
    return await fn({
      values: parsed.values,
      positionals: parsed.positionals,
      json: parsed.values.json === true,
      config,
      remote: async () => (connected ??= await connect(config)),
    });
  } catch (e) {
    if (e instanceof UsageError) {
      err(`despacito: ${e.message}\n${spec.usage}`);
      return EXIT.usage;
    }
    if (!(e instanceof CliError)) throw e;
    err(`despacito: ${e.message}`);
    return e.exit;
  }
}

export function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

export const WIDTH = 100;

/**
 * Columns padded to their widest cell; when the line would pass 100
 * columns, the widest column is cut (with …) until it fits.
 */
export function table(header: string[], rows: (string | null | undefined)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => oneLine(c ?? "-")))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => [...(r[i] ?? "")].length)));
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  while (total() > WIDTH) {
    const i = widths.indexOf(Math.max(...widths));
    if (widths[i] <= 8) break;
    widths[i] -= Math.min(total() - WIDTH, widths[i] - 8);
  }
  return cells.map((r) => r.map((c, i) => fit(c, widths[i])).join("  ").trimEnd()).join("\n");
}

function fit(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text + " ".repeat(width - chars.length);
  return chars.slice(0, width - 1).join("") + "…";
}

/** Control characters (a hostile version string) never reach the terminal. */
export function oneLine(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g, "?");
}

/** "key: value" lines, values cut to fit 100 columns. */
export function facts(pairs: [string, string | null | undefined][]): string {
  const w = Math.max(...pairs.map(([k]) => k.length)) + 1;
  return pairs.map(([k, v]) =>
    `${(k + ":").padEnd(w)} ${fit(oneLine(v ?? "-"), WIDTH - w - 1)}`.trimEnd()
  )
    .join("\n");
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

export function since(iso: string | null | undefined): string {
  if (!iso) return "-";
  return iso.replace("T", " ").replace(/\.\d+Z$/, "Z");
}
