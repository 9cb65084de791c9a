/**
 * A deployment's log writer: every captured line goes to Postgres
 * (deployment_log, next per-deployment seq) and then to the event bus, in
 * the order the lines were produced, without making the producer (a
 * colmena output callback) wait. `flush()` waits until all are stored; a
 * status change is written only after a flush so the log reads in order.
 * While the database is away lines wait in memory and are written, in
 * order, when it is back (durable.ts); nothing is dropped.
 */

import type { Sql } from "../db/connect.ts";
import type { Bus } from "../events/bus.ts";
import type { Logger } from "../log/log.ts";
import { durably } from "./durable.ts";
import { appendLog, type DeployEvent, type LogStream } from "./store.ts";

export interface Journal {
  write(stream: LogStream, line: string): void;
  flush(): Promise<void>;
}

export function createJournal(o: {
  sql: Sql;
  bus: Bus<DeployEvent>;
  deploymentId: string;
  log: Logger;
  /** Stop retrying (shutdown past its deadline). */
  giveUp?: AbortSignal;
}): Journal {
  let chain: Promise<void> = Promise.resolve();
  let failed = false;
  return {
    write(stream, line) {
      // Bound one line's size: a runaway line must not bloat the database.
      const text = line.length > 16_384 ? `${line.slice(0, 16_384)}… [truncated]` : line;
      if (stream === "system") o.log.info(text, { component: "deploy" });
      else o.log.debug("output", { component: "deploy", stream, line: text });
      chain = chain.then(async () => {
        try {
          o.bus.publish(
            await durably(() => appendLog(o.sql, o.deploymentId, stream, text), {
              log: o.log,
              what: "a deployment log line",
              giveUp: o.giveUp,
            }),
          );
        } catch (e) {
          if (!failed) o.log.error("cannot store a deployment log line", { error: e });
          failed = true;
        }
      });
    },
    flush: () => chain,
  };
}
