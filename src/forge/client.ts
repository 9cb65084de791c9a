/**
 * The Forgejo/Gitea REST API as despacito uses it (one implementation for
 * both): repository check, forge type detection, webhook create/edit/delete,
 * tag lookup and commit statuses. Always authenticates with
 * `Authorization: token <PAT>`. Failures are ForgeRequestError with the
 * HTTP status or the network reason, never containing the token.
 */

export type ForgeType = "forgejo" | "gitea";

export interface ForgeClientOptions {
  forgeUrl: string;
  token: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

export class ForgeRequestError extends Error {
  /** HTTP status, or undefined for network failures and timeouts. */
  readonly status?: number;
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ForgeRequestError";
    this.status = status;
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

export interface ForgeClient {
  getRepo(owner: string, repo: string): Promise<RepoInfo>;
  detectType(): Promise<ForgeType>;
  createHook(owner: string, repo: string, hook: HookSpec): Promise<{ id: number }>;
  editHook(owner: string, repo: string, id: number, hook: Omit<HookSpec, "type">): Promise<void>;
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
        redirect: "error",
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
    if (!res.ok) {
      throw new ForgeRequestError(`${method} ${path}: HTTP ${res.status}`, res.status);
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
    async editHook(owner, repo, id, hook) {
      // Events and active go along: an edit without events resets them to "push".
      await call("PATCH", `${repoPath(owner, repo)}/hooks/${id}`, {
        config: { url: hook.url, content_type: "json", secret: hook.secret },
        events: hook.events,
        active: true,
      });
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
