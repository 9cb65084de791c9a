/**
 * GET /api/deployments/:id/events: the deployment's log lines and status
 * changes as Server-Sent Events, `id:` being the per-deployment sequence
 * number. Resuming from Last-Event-ID (or ?last_event_id=) is gap-free and
 * repeat-free: subscribe to the bus first, replay from Postgres, then send
 * live events whose seq follows the last one sent, refilling from Postgres
 * whenever a live event skips ahead. After a terminal status: `end`, close.
 *
 * Fan-out is cheap: a live event is turned into its SSE frame once, however
 * many subscribers send it (the bus hands each the same object), and the
 * frames of one published batch are encoded once into one chunk that every
 * subscriber in step queues for its client — synchronously, no Promise or
 * stream round trip per write, one heartbeat timer per subscriber; a read
 * takes everything queued as one chunk. The route listens on the bus once:
 * events are gathered per deployment for a few ms and handed to each of its
 * subscribers as one array, so the work per subscriber is per batch, not
 * per line, and a burst of batches is one chunk. A terminal status is not
 * gathered: its batch goes out at once, `end` with it. A client that falls
 * 16 MB behind (uncompressed) is disconnected and resumes from the record
 * with Last-Event-ID.
 *
 * A client that accepts gzip gets the stream gzip-compressed, and the chunk
 * of a batch is compressed once for every such subscriber
 * (src/http/gzip_stream.ts): a burst of log lines is about a tenth of the
 * bytes to write, relay through the connection guard and read, for the
 * cost of compressing each batch once.
 */

import { DomainError, invalidRequest } from "../core/errors.ts";
import type { Sql } from "../db/connect.ts";
import type { Bus } from "../events/bus.ts";
import { acceptsGzip, deflatePiece, GZIP_HEADER, GzipMember } from "../http/gzip_stream.ts";
import type { RouteDef } from "../http/types.ts";
import { deploymentJson, type DeploymentStatus, TERMINAL } from "./deployment.ts";
import { type DeployEvent, getDeployment, logEntries, type LogEntry } from "./store.ts";

export const HEARTBEAT_MS = 15_000;
/**
 * How long live events gather before they go out: a deployment publishes a status change, a
 * system line and a batch of output a few ms apart, and each chunk costs every subscriber a
 * write, a relay through the connection guard and a read, whatever its size. 25 ms fold a
 * deployment's ~17 chunks per subscriber into ~13 (P7, bench/README.md); a person watching a
 * log does not see 25 ms.
 */
export const GATHER_MS = 25;
/** Bytes queued for one client before it is let go (it resumes from the record). */
const BACKLOG_MAX = 16 * 1024 * 1024;

/** The route's timers; tests drive them by hand to check gathering and heartbeats without waiting. */
export interface SseTimers {
  /** Runs fn once, ms from now. */
  after(ms: number, fn: () => void): void;
  /** Runs fn every ms until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

const realTimers: SseTimers = {
  after: (ms, fn) => void setTimeout(fn, ms),
  every: (ms, fn) => {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  },
};

/**
 * Internal knobs, not operator settings: tests set a small backlog so that cutting off a
 * lagging client takes kilobytes rather than 16 MB.
 */
export interface SseOptions {
  /** Uncompressed bytes queued for one client before it is let go (default 16 MB). */
  backlogMax?: number;
  timers?: SseTimers;
}

interface Outgoing {
  seq: number;
  /** The whole SSE frame (event, data, id), as hono's writeSSE would write it. */
  frame: string;
  terminal: boolean;
}

/** JSON.stringify never emits a line break, so the data is one `data:` line. */
const frameOf = (event: string, data: unknown, seq: number) =>
  `event: ${event}\ndata: ${JSON.stringify(data)}\nid: ${seq}\n\n`;

/**
 * A `log` frame: the bytes frameOf("log", {seq, stream, line, at}, seq) makes, without an
 * object to stringify per line (a burst is thousands of lines). `stream` is one of a few
 * names and `at` an ISO time: neither needs escaping.
 */
export const logFrame = (seq: number, stream: string, line: string, at: string) =>
  `event: log\ndata: {"seq":${seq},"stream":"${stream}","line":${
    JSON.stringify(line)
  },"at":"${at}"}\nid: ${seq}\n\n`;

/** toISOString of a batch's shared moment, once per batch rather than once per line. */
function isoTimes() {
  let time = NaN;
  let iso = "";
  return (d: Date) => {
    if (d.getTime() !== time) {
      time = d.getTime();
      iso = d.toISOString();
    }
    return iso;
  };
}

function fromEntry(e: LogEntry, iso: (d: Date) => string): Outgoing {
  if (e.stream === "status") {
    const status = (e.data as { status?: DeploymentStatus } | null)?.status ?? e.line;
    return {
      seq: e.seq,
      frame: frameOf("status", e.data, e.seq),
      terminal: TERMINAL.has(status as DeploymentStatus),
    };
  }
  return { seq: e.seq, frame: logFrame(e.seq, e.stream, e.line, iso(e.at)), terminal: false };
}

type StatusEvent = Extract<DeployEvent, { type: "status" }>;

function fromStatus(e: StatusEvent): Outgoing {
  return {
    seq: e.seq,
    frame: frameOf("status", { ...deploymentJson(e.deployment), seq: e.seq }, e.seq),
    terminal: TERMINAL.has(e.deployment.status),
  };
}

const encoder = new TextEncoder();

/** Bytes sent as they are and, for gzip clients, compressed once (on first use). */
class Piece {
  #gz?: Uint8Array;
  constructor(readonly plain: Uint8Array) {}
  get gz(): Uint8Array {
    return this.#gz ??= deflatePiece(this.plain);
  }
}

const END = new Piece(encoder.encode("event: end\ndata: {}\n\n"));
const KEEPALIVE = new Piece(encoder.encode(": keepalive\n\n"));

function concat(parts: Uint8Array[], size?: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const all = new Uint8Array(size ?? parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

/** The bytes of consecutive frames: every subscriber woken by the same publish writes the same run. */
interface Run {
  last: DeployEvent;
  count: number;
  piece: Piece;
  terminal: boolean;
}

export function sseRoute<P>(
  deps: { sql: Sql; bus: Bus<DeployEvent>; stopping: AbortSignal },
  options: SseOptions = {},
): RouteDef<P> {
  const backlogMax = options.backlogMax ?? BACKLOG_MAX;
  const timers = options.timers ?? realTimers;
  // Every subscriber of a deployment gets the same event objects from the bus, and all of a
  // batch's events before any of them wakes: for subscribers that keep up, one encoded chunk
  // per batch, shared by all (keyed by the run's first event). A status frame (the whole
  // deployment as JSON) is also kept per event, for subscribers out of step.
  const statusFrames = new WeakMap<StatusEvent, Outgoing>();
  const status = (e: StatusEvent) => {
    let o = statusFrames.get(e);
    if (!o) statusFrames.set(e, o = fromStatus(e));
    return o;
  };
  const iso = isoTimes();
  const frame = (e: DeployEvent) =>
    e.type === "status" ? status(e).frame : logFrame(e.seq, e.stream, e.line, iso(e.at));
  const terminal = (e: DeployEvent) => e.type === "status" && status(e).terminal;
  const runs = new WeakMap<DeployEvent, Run>();
  /** events[i..j) as one chunk: consecutive seqs, ending at a terminal status at the latest. */
  const runOf = (events: readonly DeployEvent[], i: number): Run => {
    const first = events[i];
    // A subscriber in step with the one that built it: same first event, same last one.
    const cached = runs.get(first);
    if (cached && events[i + cached.count - 1] === cached.last) return cached;
    let j = i + 1;
    while (
      j < events.length && events[j].seq === events[j - 1].seq + 1 && !terminal(events[j - 1])
    ) j++;
    let text = "";
    for (let k = i; k < j; k++) text += frame(events[k]);
    const run = {
      last: events[j - 1],
      count: j - i,
      piece: new Piece(encoder.encode(text)),
      terminal: terminal(events[j - 1]),
    };
    runs.set(first, run);
    return run;
  };

  // One bus subscription while anyone follows: events gathered per deployment for GATHER_MS
  // (a stored batch, and what follows it closely), then handed to each follower as one array.
  type Follower = (events: readonly DeployEvent[]) => void;
  const followers = new Map<string, Set<Follower>>();
  const gathered = new Map<string, DeployEvent[]>();
  let unsubscribe: (() => void) | undefined;
  /** Whether a delivery is due: every gathered event goes out at most GATHER_MS after it came. */
  let due = false;
  const handTo = (id: string, events: readonly DeployEvent[]) => {
    for (const fn of followers.get(id) ?? []) fn(events);
  };
  const deliver = () => {
    due = false;
    const batches = [...gathered];
    gathered.clear();
    for (const [id, events] of batches) handTo(id, events);
  };
  const gather = (e: DeployEvent) => {
    const id = e.deploymentId;
    if (!followers.has(id)) return;
    let batch = gathered.get(id);
    if (!batch) gathered.set(id, batch = []);
    batch.push(e);
    // Nothing of this deployment follows a terminal status: no reason to hold back its `end`.
    if (e.type === "status" && TERMINAL.has(e.deployment.status)) {
      gathered.delete(id);
      return handTo(id, batch);
    }
    if (!due) {
      due = true;
      timers.after(GATHER_MS, deliver);
    }
  };
  /** Follows one deployment's live events; returns the unfollow function. */
  const follow = (id: string, fn: Follower) => {
    unsubscribe ??= deps.bus.subscribe(gather);
    let set = followers.get(id);
    if (!set) followers.set(id, set = new Set());
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size > 0 || followers.get(id) !== set) return;
      followers.delete(id);
      if (followers.size === 0) {
        unsubscribe?.();
        unsubscribe = undefined;
      }
    };
  };
  return {
    method: "GET",
    path: "/api/deployments/:id/events",
    access: "authenticated",
    summary: "live log lines and status changes (SSE; resumes from Last-Event-ID)",
    handler: async (c) => {
      const raw = c.req.header("last-event-id") ?? c.req.query("last_event_id") ?? "0";
      if (!/^\d{1,15}$/.test(raw)) {
        throw invalidRequest([{ field: "last_event_id", message: "a sequence number" }]);
      }
      const row = await getDeployment(deps.sql, c.req.param("id") ?? "");
      if (!row) throw new DomainError("not_found", "deployment_not_found", "no such deployment");
      const id = row.id;

      // gzip, when the client takes it: the member's header goes out first.
      const gzip = acceptsGzip(c.req.header("accept-encoding")) ? new GzipMember() : undefined;
      let last = Number(raw);
      let ended = false;
      let quiet = true;
      let replaying = true;
      /** Live batches not sent yet, in the order published. */
      const pending: (readonly DeployEvent[])[] = [];
      // Runs wait here until the client reads; a read takes all of them as one chunk, so a
      // client that keeps up gets each run at once and one that lags gets fewer, larger chunks
      // (the stream machinery costs per chunk, whatever its size).
      let queued: Piece[] = [];
      /** Bytes queued, uncompressed (what the 16 MB cut-off counts). */
      let queuedBytes = 0;
      let headerSent = !gzip;
      let reading: (() => void) | undefined;
      /** What a read takes: everything queued as one chunk, in the response's coding. */
      const wire = (): Uint8Array | undefined => {
        if (!gzip) {
          const parts = queued.map((p) => p.plain);
          return parts.length === 0 ? undefined : concat(parts, queuedBytes);
        }
        const parts: Uint8Array[] = headerSent ? [] : [GZIP_HEADER];
        headerSent = true;
        for (const p of queued) {
          parts.push(p.gz);
          gzip.sent(p.plain);
        }
        // A stream that ends (rather than one whose client left) ends as a whole gzip member.
        if (ended) parts.push(gzip.end());
        return parts.length === 0 ? undefined : concat(parts);
      };
      const hand = (out: ReadableStreamDefaultController<Uint8Array>) => {
        // Outside the try: a fault in building the chunk errors the stream (the client
        // reconnects) instead of leaving it open and silent.
        const chunk = wire();
        queued = [];
        queuedBytes = 0;
        try {
          if (chunk) out.enqueue(chunk);
          if (ended) out.close();
        } catch { /* the client went away meanwhile */ }
      };
      const body = new ReadableStream<Uint8Array>({
        pull: (out) => {
          if (queued.length > 0 || ended || !headerSent) return hand(out);
          return new Promise<void>((resolve) => reading = resolve).then(() => hand(out));
        },
        cancel: () => finish(),
      }, { highWaterMark: 0 });
      const closed = AbortSignal.any([c.req.raw.signal, deps.stopping]);
      const finish = () => {
        if (ended) return;
        ended = true;
        stopHeartbeat();
        off();
        closed.removeEventListener("abort", finish);
        reading?.();
      };
      /** Queued, never awaited: the bus's publisher must not wait for the slowest client. */
      const push = (chunk: Piece | string, end = false) => {
        if (ended) return;
        quiet = false;
        const piece = typeof chunk === "string" ? new Piece(encoder.encode(chunk)) : chunk;
        const behind = queuedBytes;
        queued.push(piece);
        queuedBytes += piece.plain.length;
        // A client this far behind is let go: it resumes from Last-Event-ID, out of the record.
        // Not for one piece larger than the limit (a page of the record in long lines) to a
        // client that took all before it: it would resume into the same page, again and again.
        // Nor for the `end` after a last batch, for the same reason (nothing follows it).
        if (queuedBytes > backlogMax && behind > 0 && !end) {
          queued = [];
          queuedBytes = 0;
          return finish();
        }
        reading?.();
        reading = undefined;
      };
      const endWith = (chunk: string | Piece) => {
        push(chunk);
        push(END, true);
        finish();
      };
      /** From the record: everything after `last`, a page per write. */
      const replay = async () => {
        for (;;) {
          const page = await logEntries(deps.sql, id, last, 1000);
          if (ended) return;
          let text = "";
          for (const e of page) {
            if (e.seq <= last) continue;
            const o = fromEntry(e, iso);
            text += o.frame;
            last = o.seq;
            if (o.terminal) return endWith(text);
          }
          if (text !== "") push(text);
          if (page.length < 1000) return;
        }
      };
      const catchUp = async () => {
        replaying = true;
        try {
          await replay();
        } catch {
          // The record is out of reach: the client resumes later from what it got.
          return finish();
        } finally {
          replaying = false;
        }
        drain(true);
      };
      /** Live events in order, a run of consecutive ones per write; a gap is filled from the record. */
      const drain = (afterReplay = false) => {
        if (replaying || ended) return;
        const batches = pending.splice(0);
        const events = batches.length === 1 ? batches[0] : batches.flat();
        for (let i = 0; i < events.length && !ended;) {
          if (events[i].seq <= last) {
            i++;
            continue;
          }
          // Published out of order or before we subscribed: fill from the record, once.
          if (events[i].seq > last + 1 && !afterReplay) {
            pending.unshift(events.slice(i));
            return void catchUp();
          }
          afterReplay = false;
          const run = runOf(events, i);
          last = run.last.seq;
          i += run.count;
          if (run.terminal) endWith(run.piece);
          else push(run.piece);
        }
      };
      // Following before the replay starts, so nothing falls between the two. Live events come
      // gathered (GATHER_MS): consecutive ones go out as one run.
      const off = follow(id, (events) => {
        if (ended) return;
        pending.push(events);
        drain();
      });
      // A comment line now and then keeps proxies from closing a quiet stream.
      const stopHeartbeat = timers.every(HEARTBEAT_MS, () => {
        if (quiet) push(KEEPALIVE);
        quiet = true;
      });
      closed.addEventListener("abort", finish);
      if (closed.aborted) finish();
      else void catchUp();
      c.header("Content-Type", "text/event-stream");
      c.header("Cache-Control", "no-cache");
      c.header("Vary", "Accept-Encoding");
      if (gzip) c.header("Content-Encoding", "gzip");
      return c.body(body);
    },
  };
}
