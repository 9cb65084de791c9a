/**
 * What a notification looks like on the wire, and one attempt to send it.
 * The generic webhook gets the JSON payload signed with HMAC-SHA256 over
 * `<timestamp>.<body>`; ntfy gets a one-line message with title, priority,
 * tags and a link. README, "Notifications", documents both formats.
 */

import type { NotifyEvent, Target } from "./notify_config.ts";

export interface NotifyPayload {
  event: `deployment.${NotifyEvent}`;
  delivery_id: string;
  deployment: {
    id: string;
    package: string;
    version: string;
    status: string;
    error: string | null;
    url: string | null;
    created_at: string;
    started_at: string | null;
    finished_at: string | null;
  };
}

export interface AttemptResult {
  ok: boolean;
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
}

const enc = new TextEncoder();

export async function signature(secret: string, timestamp: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    enc.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, enc.encode(`${timestamp}.${body}`));
  return "sha256=" +
    Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, "0")).join("");
}

const NTFY_TAGS: Record<NotifyEvent, string> = {
  queued: "hourglass",
  started: "rocket",
  deployed: "white_check_mark",
  failed: "x",
  cancelled: "no_entry_sign",
  rolled_back: "leftwards_arrow_with_hook",
  held: "octagonal_sign",
};
const NTFY_TITLES: Record<NotifyEvent, string> = {
  queued: "deployment queued",
  started: "deployment started",
  deployed: "deployment deployed",
  failed: "deployment failed",
  cancelled: "deployment cancelled",
  rolled_back: "deployment rolled back",
  held: "package held",
};

function ntfyRequest(t: Target, p: NotifyPayload): RequestInit {
  const d = p.deployment;
  const what = p.event.slice("deployment.".length) as NotifyEvent;
  const headers: Record<string, string> = {
    // ntfy reads these headers; values must be ASCII, so names and versions stay in the body.
    "Title": `despacito: ${NTFY_TITLES[what]}`,
    "Tags": NTFY_TAGS[what],
    "Priority": what === "failed" || what === "held" ? "high" : "default",
    "Content-Type": "text/plain; charset=utf-8",
  };
  if (d.url) headers["Click"] = d.url;
  if (t.secret) headers["Authorization"] = `Bearer ${t.secret}`;
  const body = `${d.package} ${d.version}: ${what.replace("_", " ")}${
    d.error ? ` — ${d.error}` : ""
  }`;
  return { method: "POST", headers, body };
}

async function webhookRequest(t: Target, p: NotifyPayload, userAgent: string) {
  const body = JSON.stringify(p);
  const timestamp = String(Math.floor(Date.now() / 1000));
  return {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "User-Agent": userAgent,
      "X-Despacito-Event": p.event,
      "X-Despacito-Delivery": p.delivery_id,
      "X-Despacito-Timestamp": timestamp,
      "X-Despacito-Signature": await signature(t.secret!, timestamp, body),
    },
    body,
  };
}

/** One try; never throws. A non-2xx answer, a timeout or a network error is a failed attempt. */
export async function sendOnce(
  t: Target,
  p: NotifyPayload,
  o: { timeoutMs: number; userAgent: string; fetch?: typeof fetch },
): Promise<AttemptResult> {
  const started = performance.now();
  const took = () => Math.round(performance.now() - started);
  try {
    const init = t.type === "webhook" ? await webhookRequest(t, p, o.userAgent) : ntfyRequest(t, p);
    const res = await (o.fetch ?? fetch)(t.url, {
      ...init,
      redirect: "manual",
      signal: AbortSignal.timeout(o.timeoutMs),
    });
    await res.body?.cancel();
    const ok = res.status >= 200 && res.status < 300;
    return {
      ok,
      httpStatus: res.status,
      error: ok ? null : `HTTP ${res.status}`,
      durationMs: took(),
    };
  } catch (e) {
    const error = e instanceof DOMException && e.name === "TimeoutError"
      ? `no answer within ${o.timeoutMs}ms`
      : describe(e);
    return { ok: false, httpStatus: null, error: error.slice(0, 300), durationMs: took() };
  }
}

/** fetch's own message ("fetch failed") hides the reason in `cause`. */
function describe(e: unknown): string {
  const err = e as Error & { cause?: unknown };
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
  return `${err.message}${cause}`;
}
