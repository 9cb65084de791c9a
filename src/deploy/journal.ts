/**
 * A deployment's log writer: every captured line goes to Postgres
 * (deployment_log, next per-deployment seq) and then to the event bus, in
 * the order the lines were produced, without making the producer (a
 * colmena output callback) wait. Lines are written in batches: one
 * statement per BATCH_MAX lines or per BATCH_WAIT_MS of quiet, whichever
 * comes first, and while one batch is being stored the next one gathers;
 * one round trip per line would make a chatty colmena wait on the
 * database. `flush()` writes what is gathered and waits until all is
 * stored; a status change is written only after a flush so the log reads
 * in order. While the database is away batches wait in memory and are
 * written, in order, when it is back (durable.ts); nothing is dropped.
 */

import type { Logger } from "../log/log.ts";
import { durably } from "./durable.ts";
import type { LogStream } from "./store.ts";
import type { DeployWrites } from "./writes.ts";

export interface Journal {
  write(stream: LogStream, line: string): void;
  flush(): Promise<void>;
}

/** Lines per statement at most. */
export const BATCH_MAX = 1000;
/** How long a line may wait for company before its batch is written. */
export const BATCH_WAIT_MS = 5;
/** One line's bound: a runaway line must not bloat the database. */
const LINE_MAX = 16_384;

export function createJournal(o: {
  /** Stores a batch and publishes its events (writes.ts). */
  writes: Pick<DeployWrites, "logs">;
  deploymentId: string;
  log: Logger;
  /** Stop retrying (shutdown past its deadline). */
  giveUp?: AbortSignal;
}): Journal {
  let chain: Promise<void> = Promise.resolve();
  let failed = false;
  let gathered: { stream: LogStream; line: string }[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  const store = async (batch: { stream: LogStream; line: string }[]) => {
    try {
      await durably(() => o.writes.logs(o.deploymentId, batch), {
        log: o.log,
        what: "deployment log lines",
        giveUp: o.giveUp,
      });
    } catch (e) {
      if (!failed) o.log.error("cannot store deployment log lines", { error: e });
      failed = true;
    }
  };
  /** Hands what is gathered to the writer, behind the batches before it. */
  const cut = () => {
    clearTimeout(timer);
    timer = undefined;
    if (gathered.length === 0) return;
    const batch = gathered;
    gathered = [];
    chain = chain.then(() => store(batch));
  };

  return {
    write(stream, line) {
      let text = line.length > LINE_MAX ? `${line.slice(0, LINE_MAX)}… [truncated]` : line;
      // PostgreSQL text cannot hold NUL; one such line must not cost its whole batch.
      if (text.includes("\u0000")) text = text.replaceAll("\u0000", "\uFFFD");
      if (stream === "system") o.log.info(text, { component: "deploy" });
      else o.log.debug("output", { component: "deploy", stream, line: text });
      gathered.push({ stream, line: text });
      if (gathered.length >= BATCH_MAX) cut();
      else timer ??= setTimeout(cut, BATCH_WAIT_MS);
    },
    flush() {
      cut();
      return chain;
    },
  };
}
