/**
 * The one API client: every request the UI makes goes through here. JSON
 * in and out, cookies same-origin only, every write sent as JSON (the
 * server's CSRF rule), errors turned into ApiError with the server's code
 * and message (shown as text, never as HTML). A 401 sends the user to
 * sign-in and back to where they were.
 */

import { signal } from "@preact/signals";
import { here, navigate, signInPath } from "./router.ts";
import type {
  AuditPage,
  AuditVerdict,
  AuthMethods,
  CliSession,
  Connected,
  CreatedToken,
  Deployment,
  DeploymentPage,
  FleetNode,
  LogLine,
  Me,
  NewRepository,
  Notification,
  Package,
  Queued,
  Readiness,
  Repository,
  StatusPost,
  Token,
} from "./types.ts";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** Seconds, from Retry-After. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/**
 * False from a request that got no answer until any request (or the probe
 * of /health every 2 s meanwhile) gets one: screens showing an error then
 * load again by themselves (load.ts), without waiting for their own timer.
 */
export const reachable = signal(true);
let probe: ReturnType<typeof setInterval> | undefined;

function answered(): void {
  reachable.value = true;
  clearInterval(probe);
  probe = undefined;
}

function unanswered(): void {
  reachable.value = false;
  probe ??= setInterval(
    () => fetch("/health", { credentials: "same-origin" }).then(answered, () => {}),
    2000,
  );
}

interface Options {
  body?: unknown;
  /** Do not redirect to sign-in on 401 (the sign-in screen itself). */
  keep401?: boolean;
}

async function call<T>(method: string, path: string, options: Options = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  let body: string | undefined;
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body ?? {});
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body, credentials: "same-origin" });
  } catch (e) {
    unanswered();
    throw new ApiError(0, "unreachable", "despacito did not answer; check your connection", {
      cause: String(e),
    });
  }
  answered();
  if (res.status === 401 && !options.keep401 && !location.pathname.startsWith("/signin")) {
    navigate(signInPath(here()), { replace: true });
  }
  if (!res.ok) throw await errorFrom(res);
  if (res.status === 204) return undefined as T;
  return await res.json() as T;
}

async function errorFrom(res: Response): Promise<ApiError> {
  const retry = res.headers.get("retry-after");
  const retryAfter = retry && /^\d+$/.test(retry) ? Number(retry) : undefined;
  try {
    const body = await res.json();
    const e = body?.error;
    if (e && typeof e.code === "string") {
      return new ApiError(res.status, e.code, String(e.message ?? e.code), e.details, retryAfter);
    }
  } catch { /* not JSON: a proxy's error page */ }
  return new ApiError(
    res.status,
    `http_${res.status}`,
    `despacito answered ${res.status} ${res.statusText}`.trim(),
    undefined,
    retryAfter,
  );
}

const enc = encodeURIComponent;

export const api = {
  me: () => call<Me>("GET", "/api/me"),
  authMethods: () => call<AuthMethods>("GET", "/api/auth/methods", { keep401: true }),
  localLogin: (username: string, password: string) =>
    call<{ user: unknown }>("POST", "/auth/local/login", {
      body: { username, password },
      keep401: true,
    }),
  logout: () => call<void>("POST", "/auth/logout", { keep401: true }),
  /** Where the browser goes (a full navigation) to sign in with a provider. */
  providerLoginUrl: (issuer: string, returnTo: string) =>
    `/auth/login?issuer=${enc(issuer)}&return_to=${enc(returnTo)}`,

  /** Readiness, also when it answers 503 (its body says why). */
  ready: async (): Promise<Readiness> => {
    const res = await fetch("/health/ready", { credentials: "same-origin" });
    return await res.json() as Readiness;
  },
  packages: () => call<{ packages: Package[] }>("GET", "/api/packages"),
  deployments: (
    q: {
      package?: string;
      status?: string;
      version?: string;
      node?: string;
      limit?: number;
      cursor?: string;
    },
  ) => {
    const p = new URLSearchParams();
    for (const k of ["package", "status", "version", "node"] as const) if (q[k]) p.set(k, q[k]);
    p.set("limit", String(q.limit ?? 50));
    if (q.cursor) p.set("cursor", q.cursor);
    return call<DeploymentPage>("GET", `/api/deployments?${p}`);
  },
  deployment: (id: string) => call<Deployment>("GET", `/api/deployments/${enc(id)}`),
  /** The stored log, each line with its stream and time (as the SSE `log` events carry them). */
  deploymentLines: (id: string) =>
    call<{ lines: LogLine[] }>("GET", `/api/deployments/${enc(id)}/lines`),
  /** The stored log as text/plain: what "Download raw" links to. */
  logUrl: (id: string) => `/api/deployments/${enc(id)}/log`,
  cancel: (id: string) => call<{ status: string }>("POST", `/api/deployments/${enc(id)}/cancel`),
  /** The same request again, as a new deployment (failed, cancelled or interrupted ones). */
  retry: (id: string) => call<Queued>("POST", `/api/deployments/${enc(id)}/retry`),
  /** A new deployment back to what `deploymentId` (one that ended deployed) locked. */
  rollback: (pkg: string, deploymentId: string) =>
    call<Queued>("POST", `/api/packages/${enc(pkg)}/rollback`, {
      body: { deployment_id: deploymentId },
    }),
  /** Ends a package's hold. */
  release: (pkg: string) => call<{ status: string }>("POST", `/api/packages/${enc(pkg)}/release`),
  nodes: () => call<{ nodes: FleetNode[] }>("GET", "/api/nodes"),
  /** A drift check of every node now. */
  refreshNodes: () => call<{ nodes: FleetNode[] }>("POST", "/api/nodes/refresh"),
  /** Lets a deployment paused after a manual stage go on. */
  promote: (id: string) => call<Queued>("POST", `/api/deployments/${enc(id)}/promote`),
  /** The live event stream, resuming after `lastSeq` when given. */
  events: (id: string, lastSeq: number | undefined) =>
    new EventSource(
      `/api/deployments/${enc(id)}/events` +
        (lastSeq === undefined ? "" : `?last_event_id=${lastSeq}`),
    ),

  tokens: () => call<{ tokens: Token[] }>("GET", "/api/tokens"),
  createToken: (body: { description: string; expires_in?: string; packages?: string[] }) =>
    call<CreatedToken>("POST", "/api/tokens", { body }),
  revokeToken: (id: string) => call<void>("DELETE", `/api/tokens/${enc(id)}`),
  cliSessions: () => call<{ cli_sessions: CliSession[] }>("GET", "/api/cli-sessions"),
  revokeCliSession: (id: string) => call<void>("DELETE", `/api/cli-sessions/${enc(id)}`),

  repositories: () => call<{ repositories: Repository[] }>("GET", "/api/repositories"),
  connectRepository: (body: NewRepository) =>
    call<Connected>("POST", "/api/repositories", { body }),
  disconnectRepository: (id: string) =>
    call<{ deleted: boolean; webhook_removed: boolean; warning?: string }>(
      "DELETE",
      `/api/repositories/${enc(id)}`,
    ),
  statusPosts: (deploymentId: string) =>
    call<{ status_posts: StatusPost[] }>(
      "GET",
      `/api/forge/status-posts?deployment_id=${enc(deploymentId)}`,
    ),
  audit: (q: { action?: string; cursor?: string; limit?: number }) => {
    const p = new URLSearchParams();
    if (q.action) p.set("action", q.action);
    p.set("limit", String(q.limit ?? 50));
    if (q.cursor) p.set("cursor", q.cursor);
    return call<AuditPage>("GET", `/api/audit?${p}`);
  },
  notifications: (deploymentId: string) =>
    call<{ notifications: Notification[] }>(
      "GET",
      `/api/deployments/${enc(deploymentId)}/notifications`,
    ),
  verifyAudit: () => call<AuditVerdict>("GET", "/api/audit/verify"),
  rotateSecret: (id: string) =>
    call<{
      secret: string;
      previous_valid_until: string;
      webhook_updated: boolean;
      webhook_id: number | null;
      warning?: string;
    }>(
      "POST",
      `/api/repositories/${enc(id)}/rotate-secret`,
    ),
};

/** A short sentence for an error, for the page. */
export function describeError(e: unknown): string {
  if (e instanceof ApiError) {
    return e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
