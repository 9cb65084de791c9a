/**
 * What most commands need first: the configuration (with every problem
 * printed at once), a logger, and for database commands an open database.
 */

import { type Config, ConfigError, loadConfig } from "../config/config.ts";
import { OPTIONS } from "../config/table.ts";
import { createLogger, journaldFromEnv, type Logger } from "../log/log.ts";
import { type Database, openConfiguredDatabase } from "../db/connect.ts";
import { err } from "./io.ts";

/** The DESPACITO_* environment, read variable by variable (env permission is scoped to DESPACITO_*). */
export function despacitoEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  // With full env permission (development, tests) we can also catch misspelt variables.
  if (Deno.permissions.querySync({ name: "env" }).state === "granted") {
    for (const [k, v] of Object.entries(Deno.env.toObject())) {
      // DESPACITO_TEST_* belong to the test harness (e.g. DESPACITO_TEST_POSTGRES_URI).
      if (k.startsWith("DESPACITO_") && !k.startsWith("DESPACITO_TEST_")) env[k] = v;
    }
    return env;
  }
  for (const o of OPTIONS) {
    for (const name of o.secret ? [o.env, `${o.env}_FILE`] : [o.env]) {
      const v = Deno.env.get(name);
      if (v !== undefined) env[name] = v;
    }
  }
  return env;
}

/** Loads the config or prints every problem and returns undefined. */
export function configOrReport(): Readonly<Config> | undefined {
  try {
    return loadConfig(despacitoEnv());
  } catch (e) {
    if (e instanceof ConfigError) {
      err(`despacito: ${e.message}`);
      return undefined;
    }
    throw e;
  }
}

/**
 * The server logs JSON to stdout (journald, Docker). One-shot commands log to
 * stderr instead, so their stdout is only their answer: `TOKEN=$(despacito
 * token create …)` captures the token and nothing else.
 */
export function loggerFor(config: Readonly<Config>, to: "stdout" | "stderr" = "stdout"): Logger {
  const journald = journaldFromEnv(Deno.env);
  if (to === "stdout") return createLogger({ level: config.logLevel, journald });
  const enc = new TextEncoder();
  return createLogger({
    level: config.logLevel,
    journald,
    sink: (line) => Deno.stderr.writeSync(enc.encode(line + "\n")),
  });
}

export async function withDatabase<T>(
  config: Readonly<Config>,
  log: Logger,
  fn: (db: Database) => Promise<T>,
): Promise<T> {
  const db = await openConfiguredDatabase(config, log);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
