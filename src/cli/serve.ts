/** `despacito serve`: run until SIGTERM/SIGINT, then shut down gracefully and exit 0. */

import { MigrationError } from "../db/migrate.ts";
import { ListenError } from "../http/listen.ts";
import { startServer } from "../server.ts";
import { SettingsError } from "../deploy/settings.ts";
import { configOrReport, loggerFor } from "./runtime.ts";
import { err } from "./io.ts";

const USAGE = "usage: despacito [serve]\n" +
  "  Runs the server; it is configured only through DESPACITO_* (see `despacito help config`).";

export async function serveCommand(args: string[]): Promise<number> {
  // `serve --port 9999` must not quietly start on :8080: every argument is an error.
  if (args.length > 0) {
    err(
      `despacito: serve takes no arguments, got "${
        args[0]
      }" (set DESPACITO_LISTEN=:9999 for a port)\n${USAGE}`,
    );
    return 2;
  }
  const config = configOrReport();
  if (!config) return 2;
  const log = loggerFor(config);
  // Listen for signals before starting: a SIGTERM that arrives while migrations
  // run (systemd stopping a slow start) must still end in a graceful stop, not
  // in the runtime's default "die now".
  const { promise: signalled, resolve } = Promise.withResolvers<Deno.Signal>();
  const handlers = (["SIGTERM", "SIGINT"] as const).map((s) => [s, () => resolve(s)] as const);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  try {
    let server;
    try {
      server = await startServer(config, log);
    } catch (e) {
      // A settings file is configuration: the same exit status as a bad variable.
      if (e instanceof SettingsError) {
        log.error("invalid configuration", { problems: e.problems });
        err(`despacito: ${e.message}`);
        return 2;
      }
      if (e instanceof ListenError || e instanceof MigrationError) {
        log.error(e.message);
        err(`despacito: ${e.message}`);
        return 1;
      }
      log.error("startup failed", { error: e });
      err(`despacito: startup failed: ${e instanceof Error ? e.message : String(e)}`);
      return 1;
    }
    const signal = await signalled;
    log.info("signal received", { signal });
    await server.stop();
    return 0;
  } finally {
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  }
}
