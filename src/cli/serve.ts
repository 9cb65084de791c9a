/** `despacito serve`: run until SIGTERM/SIGINT, then shut down gracefully and exit 0. */

import { MigrationError } from "../db/migrate.ts";
import { ListenError } from "../http/listen.ts";
import { startServer } from "../server.ts";
import { configOrReport, loggerFor } from "./runtime.ts";
import { err } from "./io.ts";

export async function serveCommand(_args: string[]): Promise<number> {
  const config = configOrReport();
  if (!config) return 2;
  const log = loggerFor(config);
  let server;
  try {
    server = await startServer(config, log);
  } catch (e) {
    if (e instanceof ListenError || e instanceof MigrationError) {
      log.error(e.message);
      err(`despacito: ${e.message}`);
      return 1;
    }
    log.error("startup failed", { error: e });
    err(`despacito: startup failed: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  const { promise, resolve } = Promise.withResolvers<Deno.Signal>();
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
  const handlers = signals.map((s) => [s, () => resolve(s)] as const);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  const signal = await promise;
  for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  log.info("signal received", { signal });
  await server.stop();
  return 0;
}
