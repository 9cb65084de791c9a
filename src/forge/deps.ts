/** What the forge's domain functions share: one options object built by area.ts. */

import type { Sql } from "../db/connect.ts";
import type { Logger } from "../log/log.ts";
import type { Sealer } from "../secrets/box.ts";
import type { ForgeClient } from "./client.ts";
import type { ForgePorts } from "./ports.ts";

export interface ForgeSettings {
  /** DESPACITO_BASE_URL: webhook URLs and commit status links. */
  baseUrl: string;
  forgeTimeoutMs: number;
  forgeStatusAttempts: number;
  forgeStatusBackoffMs: number;
  forgeSecretOverlapMs: number;
}

export interface ForgeDeps {
  sql: Sql;
  sealer: Sealer;
  log: Logger;
  config: ForgeSettings;
  ports: ForgePorts;
  clientFor(forgeUrl: string, token: string): ForgeClient;
  now(): Date;
}
