/**
 * A deployment's log writer: every captured line goes to Postgres
 * (deployment_log, next per-deployment seq) and then to the event bus, in
 * the order the lines were produced, without making the producer (a
 * colmena output callback) wait. Lines are written in batches: a statement
 * starts after BATCH_WAIT_MS or at BATCH_MAX lines, and while it runs the
 * next batch gathers (up to STATEMENT_MAX lines): one round trip per line
 * would make a chatty colmena wait on the database, and a burst becomes a
 * few large statements. `flush()` writes what is gathered and waits until all is
 * stored; a status change is written only after a flush so the log reads
 * in order — or takes what is gathered into its own statement (`flushInto`), which
 * saves a round trip per status change. While the database is away batches wait in memory and are
 * written, in order, when it is back (durable.ts); nothing is dropped.
 */

import type { Logger } from "../log/log.ts";
import { durably } from "./durable.ts";
import type { LogStream } from "./store.ts";
import type { DeployWrites } from "./writes.ts";

export interface Journal {
  write(stream: LogStream, line: string): void;
  flush(): Promise<void>;
  /**
   * Waits for the batch being written, then hands every line gathered so far to `write`,
   * which stores them before its own change in one statement; lines produced meanwhile
   * wait for it. If `write` fails, or answers undefined (its change did not apply, so its
   * statement stored nothing), its lines go back to the head of the journal and are stored
   * the ordinary way: nothing is dropped.
   */
  flushInto<T>(write: (lines: { stream: LogStream; line: string }[]) => Promise<T>): Promise<T>;
}

/** Lines that start a statement at once, without waiting BATCH_WAIT_MS. */
export const BATCH_MAX = 1000;
/** Lines per statement at most (what gathered while the previous statement ran). */
const STATEMENT_MAX = 5000;
/** Characters per statement at most, lines being up to LINE_MAX each. */
const STATEMENT_BYTES = 4 * 1024 * 1024;
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
  let writing: Promise<void> | undefined;
  let failed = false;
  let gathered: { stream: LogStream; line: string }[] = [];
  /** Lines written, and lines done with (stored, or given up on): what flush() waits for. */
  let written = 0;
  let done = 0;
  const waiting: { upTo: number; resolve: () => void }[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Asked once: a fields object per output line, built only to be dropped, is measurable
  // garbage for a program printing tens of thousands of lines.
  const debugOutput = o.log.enabled("debug");

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
    finished(batch.length);
  };
  function finished(n: number) {
    done += n;
    for (let i = waiting.length - 1; i >= 0; i--) {
      if (waiting[i].upTo <= done) waiting.splice(i, 1)[0].resolve();
    }
  }
  /** The next statement's lines: all that gathered, up to STATEMENT_MAX lines or bytes. */
  const take = () => {
    let n = 0;
    let bytes = 0;
    while (n < gathered.length && n < STATEMENT_MAX && bytes < STATEMENT_BYTES) {
      bytes += gathered[n++].line.length;
    }
    if (n < gathered.length) return gathered.splice(0, n);
    // The usual case, everything: handed over as it is, not copied into a new array.
    const all = gathered;
    gathered = [];
    return all;
  };
  /**
   * Starts the writer unless it runs: one statement after another, each taking everything
   * that gathered meanwhile, so a burst becomes a few large statements, in order.
   */
  const start = () => {
    clearTimeout(timer);
    timer = undefined;
    // Never an empty run: it would end before `writing` is set and leave it set for good.
    if (!writing && gathered.length === 0) return Promise.resolve();
    writing ??= (async () => {
      try {
        while (gathered.length > 0) await store(take());
      } finally {
        writing = undefined;
      }
    })();
    return writing;
  };

  return {
    write(stream, line) {
      let text = line.length > LINE_MAX ? `${line.slice(0, LINE_MAX)}… [truncated]` : line;
      // PostgreSQL text cannot hold NUL; one such line must not cost its whole batch.
      if (text.includes("\u0000")) text = text.replaceAll("\u0000", "\uFFFD");
      if (stream === "system") o.log.info(text, { component: "deploy" });
      else if (debugOutput) o.log.debug("output", { component: "deploy", stream, line: text });
      gathered.push({ stream, line: text });
      written++;
      // While a statement runs, lines wait for the next one; the writer takes them when done.
      if (writing) return;
      if (gathered.length >= BATCH_MAX) start();
      else timer ??= setTimeout(start, BATCH_WAIT_MS);
    },
    flush() {
      // Up to the lines written so far: a chatty program cannot keep a flush waiting.
      const upTo = written;
      if (done >= upTo) return Promise.resolve();
      start();
      return new Promise((resolve) => waiting.push({ upTo, resolve }));
    },
    async flushInto<T>(write: (lines: { stream: LogStream; line: string }[]) => Promise<T>) {
      // What would not fit one statement goes the ordinary way first.
      while (writing || gathered.length > BATCH_MAX) await start();
      clearTimeout(timer);
      timer = undefined;
      const lines = gathered.splice(0, gathered.length);
      // Set while `write` runs, so that no batch starts beside it and takes earlier numbers.
      // It never rejects: flush() may be waiting on it without a handler.
      let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
      writing = (async () => {
        try {
          outcome = { ok: true, value: await write(lines) };
          if (outcome.value === undefined) gathered.unshift(...lines);
          else finished(lines.length);
        } catch (error) {
          outcome = { ok: false, error };
          gathered.unshift(...lines);
        } finally {
          writing = undefined;
          if (gathered.length > 0) timer ??= setTimeout(start, BATCH_WAIT_MS);
        }
      })();
      await writing;
      if (!outcome!.ok) throw outcome!.error;
      return outcome!.value;
    },
  };
}
