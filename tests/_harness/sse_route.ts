/**
 * The SSE route in process against real PostgreSQL (Hono's app.request, no
 * server), for what a subprocess cannot show cheaply: a client that stops
 * reading, the route's internal knobs (a small backlog, timers driven by
 * hand). SseClient reads one chunk per call, so a test decides exactly when
 * it reads and when it does not, and decodes gzip as a browser does: the
 * whole stream as it comes, checked as one gzip member when it ends.
 */

import assert from "node:assert/strict";
import { constants, gunzipSync, inflateRawSync } from "node:zlib";
import { Hono } from "hono";
import { type Bus, createBus } from "../../src/events/bus.ts";
import type { Sql } from "../../src/db/connect.ts";
import { type SseOptions, sseRoute } from "../../src/deploy/sse.ts";
import { appendLogs, changeDeployment, type DeployEvent, enqueue } from "../../src/deploy/store.ts";
import type { RouteEnv } from "../../src/http/types.ts";
import { withMigratedDatabase } from "./postgres.ts";
import { parseSse, type SseFrame } from "./sse.ts";

const STORE_PATH = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-webapp-1.1.0";

/** `p`, or an error naming `what` once `ms` have passed. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

/** One subscriber of the route, reading only when the test says so. */
export class SseClient {
  readonly gzip: boolean;
  /** Everything decoded so far. */
  text = "";
  /** Bytes received as sent (compressed, for a gzip client). */
  wireBytes = 0;
  ended = false;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #wire: Uint8Array[] = [];
  #decoder = new TextDecoder();

  constructor(readonly response: Response) {
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    this.gzip = response.headers.get("content-encoding") === "gzip";
    this.#reader = response.body!.getReader();
  }

  /** Reads one chunk: the text it added, or undefined when the stream has ended. */
  async read(what = "a chunk", ms = 10_000): Promise<string | undefined> {
    const { value, done } = await within(this.#reader.read(), ms, what);
    if (done) {
      this.ended = true;
      // A stream that ends, cut off or not, is one whole gzip member (CRC-32 and length right).
      if (this.gzip) {
        assert.equal(new TextDecoder().decode(gunzipSync(concat(this.#wire))), this.text);
      }
      return undefined;
    }
    this.wireBytes += value.length;
    if (!this.gzip) {
      const added = this.#decoder.decode(value, { stream: true });
      this.text += added;
      return added;
    }
    this.#wire.push(value);
    const all = concat(this.#wire);
    assert.deepEqual([...all.subarray(0, 2)], [0x1f, 0x8b], "a gzip member");
    if (all.length <= 10) return "";
    // Each piece ends on a sync flush: what has come so far decodes, as a live stream must.
    const inflated = inflateRawSync(all.subarray(10), { finishFlush: constants.Z_SYNC_FLUSH });
    const text = new TextDecoder().decode(inflated);
    const added = text.slice(this.text.length);
    this.text = text;
    return added;
  }

  frames(): SseFrame[] {
    return parseSse(this.text).frames;
  }

  /** The sequence numbers of the frames received, in order. */
  ids(): number[] {
    return this.frames().filter((f) => f.id !== undefined).map((f) => Number(f.id));
  }

  /** Reads until `done` holds for the frames so far; fails if the stream ends first. */
  async readUntil(what: string, done: (frames: SseFrame[]) => boolean): Promise<void> {
    while (!done(this.frames())) {
      if (await this.read(what) === undefined) throw new Error(`stream ended before ${what}`);
    }
  }

  /** Reads until the stream ends. */
  async readToEnd(what = "the end of the stream"): Promise<void> {
    while (await this.read(what) !== undefined);
  }

  cancel(): Promise<void> {
    return this.#reader.cancel().catch(() => {});
  }
}

export interface SseRouteWorld {
  sql: Sql;
  bus: Bus<DeployEvent>;
  /** A queued deployment: its record starts with the `queued` status, seq 1. */
  deployment(pkg: string): Promise<string>;
  /** The route's raw response, for a test that reads it its own way. */
  request(id: string, init?: RequestInit): Promise<Response>;
  open(id: string, options?: { gzip?: boolean; lastEventId?: number }): Promise<SseClient>;
  /** Stores lines and publishes them in one synchronous loop, as the pipeline does. */
  publishLines(id: string, lines: string[]): Promise<void>;
  /** Cancels the queued deployment and publishes it: a terminal status. */
  cancel(id: string): Promise<void>;
}

/** The route on a fresh database, with `options` (a small backlog, timers driven by hand). */
export async function withSseRoute(
  options: SseOptions,
  fn: (world: SseRouteWorld) => Promise<void>,
): Promise<void> {
  await withMigratedDatabase(async (sql) => {
    const stopping = new AbortController();
    const bus = createBus<DeployEvent>();
    const app = new Hono<RouteEnv<unknown>>();
    const route = sseRoute<unknown>({ sql, bus, stopping: stopping.signal }, options);
    app.get(route.path, route.handler);
    const request = (id: string, init?: RequestInit) =>
      Promise.resolve(app.request(`/api/deployments/${id}/events`, init));
    try {
      await fn({
        sql,
        request,
        bus,
        deployment: async (pkg) => {
          const r = await enqueue(sql, {
            package: pkg,
            version: "1.0.0",
            nixStorePath: STORE_PATH,
            flakeRef: null,
            trigger: { kind: "token", id: "t1", label: "ci" },
          });
          return r.deployment.id;
        },
        open: async (id, o = {}) => {
          const headers: Record<string, string> = {
            "Accept-Encoding": o.gzip ? "gzip" : "identity",
          };
          if (o.lastEventId !== undefined) headers["Last-Event-ID"] = String(o.lastEventId);
          const client = new SseClient(await request(id, { headers }));
          assert.equal(client.gzip, o.gzip ?? false);
          return client;
        },
        publishLines: async (id, lines) => {
          const events = await appendLogs(
            sql,
            id,
            lines.map((line) => ({ stream: "stdout", line })),
          );
          for (const e of events) bus.publish(e);
        },
        cancel: async (id) => {
          const changed = await changeDeployment(sql, id, ["queued"], { status: "cancelled" });
          assert.ok(changed, "the deployment was queued");
          for (const e of changed.events) bus.publish(e);
        },
      });
    } finally {
      stopping.abort();
    }
  });
}
