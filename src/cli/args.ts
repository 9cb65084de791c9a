/**
 * Strict argument parsing for every subcommand: an unknown flag, a missing
 * value or a stray argument is a usage error (exit 2) naming what was
 * wrong, never silently ignored (`serve --port 9999` must not start a
 * server on :8080).
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

export { EXIT } from "./exit.ts";

/** A usage error: printed with the command's usage, exit 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig["options"]>;

export interface Parsed<O extends Options> {
  values: {
    [K in keyof O]?: O[K]["type"] extends "boolean" ? boolean
      : O[K]["multiple"] extends true ? string[]
      : string;
  };
  positionals: string[];
}

/**
 * Parses `args` against `options`, allowing between `min` and `max`
 * positionals; throws UsageError otherwise.
 */
export function strictArgs<O extends Options>(
  args: string[],
  options: O,
  positionals: { min?: number; max?: number } = {},
): Parsed<O> {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional.*$/s, ""));
  }
  const n = parsed.positionals.length;
  if (n < (positionals.min ?? 0)) throw new UsageError("missing argument");
  if (n > (positionals.max ?? 0)) {
    throw new UsageError(`unexpected argument "${parsed.positionals[positionals.max ?? 0]}"`);
  }
  return parsed as unknown as Parsed<O>;
}
