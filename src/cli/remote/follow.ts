/**
 * Follows a deployment's event stream (GET /api/deployments/:id/events,
 * Server-Sent Events) until its `end` event. A dropped connection — the
 * server restarting, a proxy timing out — is resumed with Last-Event-ID,
 * which the server answers without gaps or repeats; reconnecting backs off
 * up to 5 s and gives up (exit 4) after `giveUpMs` without a connection.
 */

import { CliError, type Remote } from "./client.ts";
import { EXIT } from "../args.ts";

const TRANSIENT = new Set([502, 503, 504]);

export interface StreamEvent {
  id?: string;
  event: string;
  data: string;
}

export interface LogEvent {
  seq: number;
  stream: string;
  line: string;
  at: string;
}

export interface FollowHandlers {
  onLog(e: LogEvent): void;
  onStatus(status: string, data: Record<string, unknown>): void;
  /** Told when the connection dropped and is being resumed. */
  onReconnect?(lastId: number, why: string): void;
}

/** Resolves with the final status once the stream says `end`. */
export async function follow(
  remote: Remote,
  id: string,
  h: FollowHandlers,
  options: { giveUpMs?: number; signal?: AbortSignal } = {},
): Promise<string> {
  let last = 0;
  let status = "unknown";
  let downSince: number | undefined;
  let backoff = 250;
  for (;;) {
    try {
      const res = await remote.request("GET", `/api/deployments/${encodeURIComponent(id)}/events`, {
        headers: {
          accept: "text/event-stream",
          ...(last ? { "last-event-id": String(last) } : {}),
        },
        timeoutMs: null,
        signal: options.signal,
      });
      downSince = undefined;
      backoff = 250;
      for await (const e of readEvents(res.body!)) {
        if (e.event === "end") return status;
        if (e.id) last = Number(e.id);
        const data = JSON.parse(e.data);
        if (e.event === "log") h.onLog(data as LogEvent);
        else if (e.event === "status") {
          status = String(data.status ?? status);
          h.onStatus(status, data);
        }
      }
      h.onReconnect?.(last, "the stream ended before the deployment did");
    } catch (e) {
      if (options.signal?.aborted) throw e;
      // A refusal (404, 401 after refresh) is final; "cannot reach", a proxy's 502/503/504 while
      // despacito restarts behind it, and broken streams are retried.
      if (e instanceof CliError && e.exit !== EXIT.unreachable && !TRANSIENT.has(e.status ?? 0)) {
        throw e;
      }
      downSince ??= Date.now();
      if (Date.now() - downSince > (options.giveUpMs ?? 10 * 60_000)) {
        throw e instanceof CliError ? e : new CliError(`stream lost: ${(e as Error).message}`, 4);
      }
      h.onReconnect?.(last, e instanceof Error ? e.message : String(e));
    }
    await new Promise((r) => setTimeout(r, backoff));
    backoff = Math.min(backoff * 2, 5_000);
  }
}

/** Parses an SSE byte stream (text/event-stream) into events; comments are skipped. */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<StreamEvent> {
  let buf = "";
  let cur: Partial<StreamEvent> & { data?: string } = {};
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let nl: number;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf.startsWith("\r\n", nl) ? 2 : 1));
      if (line === "") {
        if (cur.data !== undefined) {
          yield { id: cur.id, event: cur.event ?? "message", data: cur.data };
        }
        cur = {};
        continue;
      }
      if (line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (field === "data") cur.data = cur.data === undefined ? value : `${cur.data}\n${value}`;
      else if (field === "event") cur.event = value;
      else if (field === "id") cur.id = value;
    }
  }
}
