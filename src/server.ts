/**
 * The composition root: opens the database, builds every area, migrates
 * (while the areas prepare what needs no database), starts the areas,
 * composes the app and listens. `startServer` is what `despacito serve`
 * runs and what in-process integration tests start; `stop` is the graceful
 * shutdown (stop accepting, let requests and the running deployment finish
 * up to the timeout, stop areas, close the database, remove the socket).
 */

import type { Config } from "./config/config.ts";
import { buildAreas } from "./areas.ts";
import { type Database, openConfiguredDatabase } from "./db/connect.ts";
import { loadMigrations, migrate, readApplied } from "./db/migrate.ts";
import { createApp } from "./http/app.ts";
import { listen, type Listener } from "./http/listen.ts";
import type { Logger } from "./log/log.ts";
import { VERSION_INFO } from "./version.ts";

export interface RunningServer {
  listener: Listener;
  db: Database;
  /** Aborted when shutdown begins; long-lived streams (SSE) end on it. */
  stopping: AbortSignal;
  stop(): Promise<void>;
}

export async function startServer(config: Readonly<Config>, log: Logger): Promise<RunningServer> {
  const db = await openConfiguredDatabase(config, log);
  // The migration files and the schema's state are asked for at once (neither needs an area):
  // reading the files and the database connection's setup overlap with building the areas and
  // the tool probe (bench/README.md, "start → ready"). Both are awaited before migrating; should
  // an area fail to build first, their outcomes must not go unhandled.
  const files = loadMigrations();
  const applied = readApplied(db.sql);
  for (const p of [files, applied]) p.catch(() => {});
  try {
    const stopping = new AbortController();
    // The metrics read the connection guard's counts; the listener starts last.
    const guard: { connections?: Listener["connections"] } = {};
    const built = await buildAreas({
      config,
      log,
      sql: db.sql,
      stopping: stopping.signal,
      connections: () => guard.connections?.(),
    });
    const { areas } = built;
    // Building an area reads no table, so the schema is migrated only now, while the areas
    // prepare what needs no database (the deploy tools' probe, four child processes).
    for (const a of areas) a.prepare?.();
    const migrations = await files;
    await migrate(db.sql, migrations, log, applied);

    for (const a of areas) await a.start?.();
    const app = createApp({
      config,
      log,
      sql: db.sql,
      migrations,
      version: VERSION_INFO,
      ...built,
    });
    const listener = await listen({
      listen: config.listen,
      socketPath: config.listenSocket,
      socketMode: config.listenSocketMode,
      dataDir: config.dataDir,
      limits: {
        headerTimeoutMs: config.headerTimeoutMs,
        idleTimeoutMs: config.idleTimeoutMs,
        maxConnections: config.maxConnections,
      },
      log,
      handler: (req, info) =>
        app.fetch(req, { remoteAddr: info.remoteAddr, completed: info.completed }),
    });
    guard.connections = listener.connections;
    log.info("despacito started", {
      version: VERSION_INFO.version,
      commit: VERSION_INFO.commit,
      address: listener.address,
      database: db.kind,
    });
    // The ready line goes out now, not with the next batch of log lines: whoever starts
    // despacito waits for it.
    log.flush();

    let stopped: Promise<void> | undefined;
    const stop = () =>
      stopped ??= (async () => {
        log.info("shutting down", { timeout_ms: config.shutdownTimeoutMs });
        stopping.abort();
        const deadline = AbortSignal.timeout(config.shutdownTimeoutMs);
        const areasStopped = Promise.all(areas.map((a) => a.stop?.(deadline)));
        await Promise.all([
          listener.shutdown(config.shutdownTimeoutMs, areasStopped),
          areasStopped,
        ]);
        await db.close();
        log.info("stopped");
      })();
    return { listener, db, stopping: stopping.signal, stop };
  } catch (e) {
    await db.close().catch(() => {});
    throw e;
  }
}
