/**
 * Liveness and readiness. /health never touches the database, so a slow
 * Postgres cannot make systemd or Caddy think the process is dead;
 * /health/ready answers 503 with the reason until the database answers and
 * its schema matches this binary.
 */

import type { Sql } from "../db/connect.ts";
import { type Migration, schemaProblem } from "../db/migrate.ts";
import type { VersionInfo } from "../version.ts";
import type { RouteDef } from "./types.ts";

export interface HealthDeps {
  sql: Sql;
  migrations: Migration[];
  version: VersionInfo;
  /** How long readiness waits for the database before calling it down. */
  timeoutMs?: number;
  /** More readiness conditions (the deploy area: tools and flake dir usable). */
  readiness?: (() => Promise<string | undefined>)[];
  /** Facts reported beside the status (the flake remote's state); never fail readiness. */
  info?: (() => Promise<Record<string, unknown>>)[];
}

export function healthRoutes<P>(deps: HealthDeps): RouteDef<P>[] {
  return [
    {
      method: "GET",
      path: "/health",
      access: "public",
      summary: "liveness",
      handler: (c) =>
        c.json({ status: "ok", version: deps.version.version, commit: deps.version.commit }),
    },
    {
      method: "GET",
      path: "/health/ready",
      access: "public",
      summary: "readiness: database reachable, schema current, deployment tools usable",
      handler: async (c) => {
        const reason = await readinessProblem(deps) ?? await areaProblem(deps);
        const info = await areaInfo(deps);
        if (reason) return c.json({ status: "unavailable", reason, ...info }, 503);
        return c.json({ status: "ready", version: deps.version.version, ...info });
      },
    },
  ];
}

async function readinessProblem(deps: HealthDeps): Promise<string | undefined> {
  const timeout = deps.timeoutMs ?? 3_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      schemaProblem(deps.sql, deps.migrations),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(`database did not answer within ${timeout}ms`), timeout);
      }),
    ]);
  } catch (e) {
    return `database unavailable: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    clearTimeout(timer);
  }
}

async function areaProblem(deps: HealthDeps): Promise<string | undefined> {
  for (const check of deps.readiness ?? []) {
    const problem = await check().catch((e) => `readiness check failed: ${(e as Error).message}`);
    if (problem) return problem;
  }
  return undefined;
}

async function areaInfo(deps: HealthDeps): Promise<Record<string, unknown>> {
  const all = await Promise.all(
    (deps.info ?? []).map((f) => f().catch(() => ({} as Record<string, unknown>))),
  );
  return Object.assign({}, ...all);
}
