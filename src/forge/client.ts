/**
 * The Forgejo/Gitea REST API as despacito uses it (one implementation for
 * both): repository check, token scope probe, forge type detection, webhook
 * create/read/delete, tag lookup and commit statuses. Always authenticates
 * with `Authorization: token <PAT>`. Never follows a redirect: a renamed or
 * transferred repository answers 307 (Forgejo's RedirectToRepo), reported as
 * ForgeRequestError with `moved`. Failures are ForgeRequestError with the
 * HTTP status or the network reason, never containing the token.
 */

export type ForgeType = "forgejo" | "gitea";

export interface ForgeClientOptions {
  forgeUrl: string;
  token: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** Where a moved repository is now ("owner/repo"), read from the redirect's Location. */
export interface MovedTo {
  owner: string;
  repo: string;
  location: string;
}

export class ForgeRequestError extends Error {
  /** HTTP status, or undefined for network failures and timeouts. */
  readonly status?: number;
  /** Set when the forge redirected: the repository was renamed or transferred. */
  readonly moved?: MovedTo;
  /** The forge's own `message`, when it sent one (scope errors name the scope). */
  readonly forgeMessage?: string;
  constructor(
    message: string,
    status?: number,
    options?: { cause?: unknown; moved?: MovedTo; forgeMessage?: string },
  ) {
    super(message, { cause: options?.cause });
    this.name = "ForgeRequestError";
    this.status = status;
    this.moved = options?.moved;
    this.forgeMessage = options?.forgeMessage;
  }
  /**
   * The scopes a token lacks, when the forge said so: Forgejo/Gitea answer
   * 403 "token does not have at least one of required scope(s): [write:repository]"
   * (routers/api/v1/api.go, tokenRequiresScopes).
   */
  get missingScope(): string | undefined {
    if (this.status !== 403) return undefined;
    return /required scope\(s\): \[([^\]]*)\]/.exec(this.forgeMessage ?? "")?.[1];
  }
  /** The operator must act (token rejected, lacking scope or rights, repository moved). */
  get credentialProblem(): boolean {
    return this.status === 401 || this.status === 403 || this.moved !== undefined;
  }
  /** Worth retrying: network trouble, timeouts, 408, 429 and 5xx. */
  get transient(): boolean {
    return this.status === undefined || this.status === 408 || this.status === 429 ||
      this.status >= 500;
  }
}

export interface RepoInfo {
  fullName: string;
  htmlUrl: string;
  permissions: { admin: boolean; push: boolean; pull: boolean };
}

export interface HookSpec {
  type: ForgeType;
  url: string;
  secret: string;
  events: string[];
}

export interface StatusSpec {
  state: "pending" | "success" | "failure" | "error";
  targetUrl?: string;
  description: string;
  context: string;
}

export interface HookInfo {
  id: number;
  url: string;
  contentType: string;
  events: string[];
  active: boolean;
}

export interface ForgeClient {
  getRepo(owner: string, repo: string): Promise<RepoInfo>;
  /**
   * Whether the token's scope allows writes to the repository (statuses need
   * `write:repository`); the scope missing otherwise. `permissions` in
   * getRepo is the user's, not the token's, so this asks separately.
   */
  writeScope(owner: string, repo: string): Promise<{ ok: true } | { ok: false; missing: string }>;
  detectType(): Promise<ForgeType>;
  createHook(owner: string, repo: string, hook: HookSpec): Promise<{ id: number }>;
  /** The hook as the API shows it (never its secret: modules/structs Hook has none). */
  getHook(owner: string, repo: string, id: number): Promise<HookInfo>;
  /** "deleted", or "gone" when the forge no longer has it. */
  deleteHook(owner: string, repo: string, id: number): Promise<"deleted" | "gone">;
  /** The commit a tag points at. */
  tagCommit(owner: string, repo: string, tag: string, timeoutMs?: number): Promise<string>;
  postStatus(owner: string, repo: string, sha: string, status: StatusSpec): Promise<void>;
}

const seg = encodeURIComponent;

export function createForgeClient(options: ForgeClientOptions): ForgeClient {
  const base = options.forgeUrl.replace(/\/+$/, "");
  const doFetch = options.fetch ?? fetch;

  async function call(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = options.timeoutMs,
  ): Promise<{ status: number; json: unknown }> {
    let res: Response;
    try {
      res = await doFetch(base + path, {
        method,
        headers: {
          Authorization: `token ${options.token}`,
          Accept: "application/json",
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: "manual",
      });
    } catch (e) {
      const why = e instanceof DOMException && e.name === "TimeoutError"
        ? `no answer within ${timeoutMs} ms`
        : e instanceof Error
        ? e.message
        : String(e);
      throw new ForgeRequestError(`${method} ${path}: ${why}`, undefined, { cause: e });
    }
    const text = await res.text().catch(() => "");
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get("location") ?? "";
      const moved = movedFrom(location);
      throw new ForgeRequestError(
        moved
          ? `${method} ${path}: the repository moved to ${moved.owner}/${moved.repo} (HTTP ${res.status})`
          : `${method} ${path}: redirected (HTTP ${res.status}) to ${location || "nowhere"}`,
        res.status,
        { moved },
      );
    }
    if (!res.ok) {
      throw new ForgeRequestError(`${method} ${path}: HTTP ${res.status}`, res.status, {
        forgeMessage: messageOf(text),
      });
    }
    let json: unknown = undefined;
    if (text !== "") {
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new ForgeRequestError(`${method} ${path}: the answer is not JSON`, res.status, {
          cause: e,
        });
      }
    }
    return { status: res.status, json };
  }

  const repoPath = (owner: string, repo: string) => `/api/v1/repos/${seg(owner)}/${seg(repo)}`;

  return {
    async getRepo(owner, repo) {
      const { json } = await call("GET", repoPath(owner, repo));
      const r = (json ?? {}) as Record<string, unknown>;
      const p = (r.permissions ?? {}) as Record<string, unknown>;
      return {
        fullName: String(r.full_name ?? `${owner}/${repo}`),
        htmlUrl: String(r.html_url ?? `${base}/${owner}/${repo}`),
        permissions: { admin: p.admin === true, push: p.push === true, pull: p.pull === true },
      };
    },
    async writeScope(owner, repo) {
      // The scope check runs before anything else on a write to /repos/… (tokenRequiresScopes
      // in routers/api/v1/api.go), so deleting hook 0, which never exists, is a harmless probe:
      // 403 naming the scope without it; 404 (or 403 for a non-admin user) with it.
      try {
        await call("DELETE", `${repoPath(owner, repo)}/hooks/0`);
        return { ok: true };
      } catch (e) {
        if (!(e instanceof ForgeRequestError)) throw e;
        const missing = e.missingScope;
        if (missing !== undefined) return { ok: false, missing };
        if (e.status === 404 || e.status === 403) return { ok: true };
        throw e;
      }
    },
    async detectType() {
      // Only Forgejo serves its own API root; Gitea answers 404.
      try {
        await call("GET", "/api/forgejo/v1/version");
        return "forgejo";
      } catch (e) {
        if (e instanceof ForgeRequestError && e.status === 404) return "gitea";
        throw e;
      }
    },
    async createHook(owner, repo, hook) {
      const { json } = await call("POST", `${repoPath(owner, repo)}/hooks`, {
        type: hook.type,
        config: { url: hook.url, content_type: "json", secret: hook.secret },
        events: hook.events,
        active: true,
      });
      const id = (json as { id?: unknown } | undefined)?.id;
      if (typeof id !== "number") {
        throw new ForgeRequestError("POST hooks: the answer has no hook id", 201);
      }
      return { id };
    },
    async getHook(owner, repo, id) {
      const { json } = await call("GET", `${repoPath(owner, repo)}/hooks/${id}`);
      const h = (json ?? {}) as Record<string, unknown>;
      const config = (h.config ?? {}) as Record<string, unknown>;
      return {
        id: Number(h.id),
        url: String(config.url ?? ""),
        contentType: String(config.content_type ?? ""),
        events: Array.isArray(h.events) ? h.events.map(String) : [],
        active: h.active === true,
      };
    },
    async deleteHook(owner, repo, id) {
      try {
        await call("DELETE", `${repoPath(owner, repo)}/hooks/${id}`);
        return "deleted";
      } catch (e) {
        if (e instanceof ForgeRequestError && e.status === 404) return "gone";
        throw e;
      }
    },
    async tagCommit(owner, repo, tag, timeoutMs) {
      const { json } = await call(
        "GET",
        `${repoPath(owner, repo)}/tags/${seg(tag)}`,
        undefined,
        timeoutMs,
      );
      const sha = ((json as { commit?: { sha?: unknown } } | undefined)?.commit)?.sha;
      if (typeof sha !== "string" || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha)) {
        throw new ForgeRequestError("GET tag: the answer has no commit sha", 200);
      }
      return sha;
    },
    async postStatus(owner, repo, sha, s) {
      await call("POST", `${repoPath(owner, repo)}/statuses/${seg(sha)}`, {
        state: s.state,
        target_url: s.targetUrl ?? "",
        description: s.description,
        context: s.context,
      });
    },
  };
}

/** `/api/v1/repos/<owner>/<repo>/…` in a redirect's Location → the new owner and name. */
function movedFrom(location: string): MovedTo | undefined {
  let path: string;
  try {
    path = new URL(location, "http://forge.invalid").pathname;
  } catch {
    return undefined;
  }
  const m = /\/api\/v1\/repos\/([^/]+)\/([^/]+)/.exec(path);
  if (!m) return undefined;
  try {
    return { owner: decodeURIComponent(m[1]), repo: decodeURIComponent(m[2]), location };
  } catch {
    return undefined;
  }
}

/** The `message` of a forge error answer (APIError in modules/structs), if any. */
function messageOf(text: string): string | undefined {
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    return typeof m === "string" ? m.slice(0, 300) : undefined;
  } catch {
    return undefined;
  }
}
