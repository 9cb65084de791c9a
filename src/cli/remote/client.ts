/**
 * The operator commands' HTTP client for a remote despacito. Finds the
 * server and the credential (DESPACITO_URL + DESPACITO_TOKEN for CI, else
 * what `despacito login` stored), refreshes an expiring access token
 * silently (under a lock, so parallel commands never spend one refresh
 * token twice), and turns every failure into a CliError with the
 * documented exit code: 3 not signed in / forbidden, 4 unreachable,
 * 1 anything else the server refused.
 */

import type { Config } from "../../config/config.ts";
import { EXIT } from "../args.ts";
import {
  type Credentials,
  credentialsDir,
  loadCredentials,
  saveCredentials,
  withRefreshLock,
} from "./credentials.ts";

export class CliError extends Error {
  constructor(
    message: string,
    readonly exit: number,
    readonly code?: string,
    /** The HTTP status when the server answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Default 30 s; `null` for requests that wait (deploy, logs -f). */
  timeoutMs?: number | null;
}

export interface Remote {
  server: string;
  /** The answer when it is 2xx; a CliError otherwise. */
  request(method: string, path: string, options?: RequestOptions): Promise<Response>;
  json<T>(method: string, path: string, options?: RequestOptions): Promise<T>;
}

/** Refresh this long before the access token ends, so it cannot expire in flight. */
const REFRESH_MARGIN_MS = 30_000;

export const notSignedIn = (server?: string) =>
  new CliError(
    server
      ? `not signed in to ${server}: run \`despacito login ${server}\``
      : "not signed in: run `despacito login URL`, or set DESPACITO_URL and DESPACITO_TOKEN",
    EXIT.auth,
  );

/** The remote from the configuration and the stored credentials. */
export async function connect(config: Readonly<Config>): Promise<Remote> {
  if (config.cliToken) {
    if (!config.cliUrl) throw new CliError("DESPACITO_TOKEN needs DESPACITO_URL", EXIT.usage);
    const token = config.cliToken;
    return remote(config.cliUrl, () => Promise.resolve(token), undefined);
  }
  const dir = credentialsDir();
  if (!dir) throw notSignedIn(config.cliUrl);
  const stored = await readCredentials(dir);
  if (!stored || (config.cliUrl && stored.server !== config.cliUrl)) {
    throw notSignedIn(config.cliUrl ?? stored?.server);
  }
  let current = stored;
  const fresh = async (force: boolean) => {
    if (!force && Date.parse(current.expires_at) - Date.now() > REFRESH_MARGIN_MS) {
      return current.access_token;
    }
    current = await refreshStored(dir, current);
    return current.access_token;
  };
  return remote(stored.server, () => fresh(false), () => fresh(true));
}

export async function readCredentials(dir: string): Promise<Credentials | undefined> {
  try {
    return await loadCredentials(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) {
      throw new CliError(
        `this despacito may not read ${dir} (its permissions are fixed for the server); ` +
          "use `deno task cli`, or DESPACITO_URL and DESPACITO_TOKEN",
        EXIT.auth,
      );
    }
    throw new CliError(`cannot read the credentials: ${(e as Error).message}`, EXIT.failed);
  }
}

/**
 * Spends the refresh token for a new pair, unless another process did so
 * while we waited for the lock (then its result is used).
 */
async function refreshStored(dir: string, seen: Credentials): Promise<Credentials> {
  return await withRefreshLock(dir, async () => {
    const now = await loadCredentials(dir);
    if (!now || now.server !== seen.server) throw notSignedIn(seen.server);
    if (now.refresh_token !== seen.refresh_token) return now;
    const res = await send(
      now.token_endpoint,
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "refresh_token",
          refresh_token: now.refresh_token,
          client_id: now.client_id,
        }),
      },
      now.server,
      30_000,
    );
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      if (res.status === 400 || res.status === 401) {
        throw new CliError(
          `your sign-in to ${now.server} has ended (${
            body.error_description ?? body.error ?? res.status
          }): run \`despacito login ${now.server}\``,
          EXIT.auth,
          body.error,
        );
      }
      throw await failure(new Response(JSON.stringify(body), { status: res.status }));
    }
    const next = { ...now, ...tokensFrom(body) };
    await saveCredentials(dir, next);
    return next;
  });
}

/** The token fields of a token endpoint answer. */
export function tokensFrom(body: Record<string, unknown>) {
  const { access_token, refresh_token, expires_in } = body;
  if (
    typeof access_token !== "string" || typeof refresh_token !== "string" ||
    typeof expires_in !== "number"
  ) {
    throw new CliError("the server's token answer is incomplete", EXIT.failed);
  }
  return {
    access_token,
    refresh_token,
    expires_at: new Date(Date.now() + expires_in * 1000).toISOString(),
  };
}

function remote(
  server: string,
  token: () => Promise<string>,
  forceRefresh: (() => Promise<string>) | undefined,
): Remote {
  const request = async (method: string, path: string, o: RequestOptions = {}) => {
    const url = new URL(path, server + "/");
    for (const [k, v] of Object.entries(o.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, v);
    }
    const attempt = async (bearer: string) =>
      await send(
        url.href,
        {
          method,
          headers: {
            authorization: `Bearer ${bearer}`,
            ...(o.body !== undefined ? { "content-type": "application/json" } : {}),
            ...o.headers,
          },
          body: o.body === undefined ? undefined : JSON.stringify(o.body),
          signal: o.signal,
        },
        server,
        o.timeoutMs === undefined ? 30_000 : o.timeoutMs,
      );
    let res = await attempt(await token());
    // Revoked or expired early (clock skew): one silent refresh, then the answer stands.
    if (res.status === 401 && forceRefresh) {
      await res.body?.cancel();
      res = await attempt(await forceRefresh());
    }
    if (!res.ok) throw await failure(res);
    return res;
  };
  return {
    server,
    request,
    json: async <T>(method: string, path: string, o?: RequestOptions) =>
      await (await request(method, path, o)).json() as T,
  };
}

/** fetch, with "cannot reach" as exit 4. */
export async function send(
  url: string,
  init: RequestInit,
  server: string,
  timeoutMs: number | null,
): Promise<Response> {
  const signals = [init.signal, timeoutMs === null ? undefined : AbortSignal.timeout(timeoutMs)]
    .filter((s): s is AbortSignal => !!s);
  try {
    return await fetch(url, { ...init, signal: signals.length ? AbortSignal.any(signals) : null });
  } catch (e) {
    if (init.signal?.aborted) throw e;
    if (e instanceof Deno.errors.NotCapable) {
      throw new CliError(
        `not permitted to reach ${new URL(url).host}: ${(e as Error).message}`,
        EXIT.unreachable,
      );
    }
    const why = e instanceof DOMException && e.name === "TimeoutError"
      ? "no answer in time"
      : (e as Error).message;
    throw new CliError(`cannot reach ${server}: ${why}`, EXIT.unreachable);
  }
}

/** A non-2xx answer as a CliError: the server's message, its field problems, the exit code. */
export async function failure(res: Response): Promise<CliError> {
  const text = await res.text().catch(() => "");
  let code: string | undefined;
  let message = `HTTP ${res.status}`;
  try {
    const body = JSON.parse(text);
    const e = body?.error;
    if (typeof body?.status === "string" && typeof e !== "object") {
      // The webhook's and actions' own answers: {"status":"already_deployed","deployment_id",…}.
      code = body.status;
      message = [
        body.status.replaceAll("_", " "),
        body.deployment_id && `deployment ${body.deployment_id}`,
      ]
        .filter(Boolean).join(", ");
      if (typeof e === "string") message += `: ${e}`;
    }
    if (e && typeof e === "object") {
      code = e.code;
      message = e.message ?? message;
      for (const d of e.details ?? []) message += `\n  ${d.field}: ${d.message}`;
    }
  } catch {
    if (text.trim()) message += `: ${text.trim().slice(0, 200)}`;
  }
  const exit = res.status === 401 || res.status === 403 ? EXIT.auth : EXIT.failed;
  if (res.status === 401) message += " (run `despacito login`)";
  return new CliError(message, exit, code, res.status);
}
