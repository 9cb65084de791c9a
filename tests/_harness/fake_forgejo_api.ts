/**
 * The fake forge's request handling (see fake_forgejo.ts for the model).
 * Paths below are Forgejo source files; each answer follows the file named
 * beside it. Where Forgejo would accept something despacito must never
 * send, the fake refuses it and records why (`reject`).
 */

import type { FakeHook, FakeRepo, FakeState, Perms } from "./fake_forgejo.ts";

// modules/webhook/type.go: the hook event names the API accepts.
const HOOK_EVENTS = new Set([
  "create",
  "delete",
  "fork",
  "push",
  "issues",
  "issue_assign",
  "issue_label",
  "issue_milestone",
  "issue_comment",
  "pull_request",
  "pull_request_assign",
  "pull_request_label",
  "pull_request_milestone",
  "pull_request_comment",
  "pull_request_review_approved",
  "pull_request_review_rejected",
  "pull_request_review_comment",
  "pull_request_sync",
  "wiki",
  "repository",
  "release",
  "package",
]);
// modules/structs/commit_status.go: CommitStatusState.
const STATUS_STATES = new Set(["pending", "success", "error", "failure", "warning"]);

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: body === undefined ? headers : {
      "Content-Type": "application/json;charset=utf-8",
      ...headers,
    },
  });

export async function handleApi(state: FakeState, req: Request): Promise<Response> {
  const url = new URL(req.url);
  const path = url.pathname;
  const text = await req.text();
  const call = {
    method: req.method,
    path,
    authorization: req.headers.get("authorization"),
    contentType: req.headers.get("content-type"),
    body: undefined as unknown,
    status: 0,
  };
  state.calls.push(call);
  const reject = (status: number, reason: string) => {
    state.rejections.push({ method: req.method, path, reason });
    return json(status, { message: reason });
  };
  const r = route(state, req, url, text, call, reject);
  call.status = r.status;
  return r;
}

function route(
  state: FakeState,
  req: Request,
  url: URL,
  text: string,
  call: { authorization: string | null; contentType: string | null; body: unknown },
  reject: (status: number, reason: string) => Response,
): Response {
  const path = url.pathname;
  if (text !== "") {
    if (!/^application\/json\b/.test(call.contentType ?? "")) {
      return reject(415, "body without Content-Type: application/json");
    }
    try {
      call.body = JSON.parse(text);
    } catch {
      return reject(400, "malformed JSON");
    }
  }
  const fault = state.faults.find((f) => f.left > 0 && f.re.test(path));
  if (fault) {
    fault.left--;
    return json(fault.status, { message: "simulated outage" });
  }

  // routers/api/forgejo/v1: only Forgejo serves its own API root, without authentication.
  if (path === "/api/forgejo/v1/version" && req.method === "GET") {
    return state.flavor === "forgejo"
      ? json(200, { version: "9.0.3+gitea-1.22.0" })
      : json(404, { message: "not found" });
  }
  if (path === "/api/v1/version" && req.method === "GET") {
    return json(200, { version: state.flavor === "forgejo" ? "9.0.3+gitea-1.22.0" : "1.22.6" });
  }

  // services/auth/oauth2.go + basic.go: `token <PAT>` (despacito's only form); unknown → 401.
  const m = call.authorization === null ? null : /^token ([^\s]+)$/.exec(call.authorization);
  if (!m) {
    return reject(
      401,
      call.authorization === null
        ? "no Authorization header"
        : "Authorization must be `token <PAT>`",
    );
  }
  const token = state.tokens.get(m[1]);
  if (!token) return json(401, { message: "user does not exist" });

  const r = /^\/api\/v1\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
  if (!r) return reject(404, `no such endpoint ${req.method} ${path}`);

  // routers/api/v1/api.go, tokenRequiresScopes on the /repos group: runs before the
  // repository is looked up; GET/HEAD need read:repository, every other method write.
  const level = req.method === "GET" || req.method === "HEAD" ? "read" : "write";
  const ok = token.scopes.includes("all") || token.scopes.includes("write:repository") ||
    (level === "read" && token.scopes.includes("read:repository"));
  if (!ok) {
    return json(403, {
      message: `token does not have at least one of required scope(s): [${level}:repository]`,
    });
  }

  const key = `${decodeURIComponent(r[1])}/${decodeURIComponent(r[2])}`;
  const moved = state.redirects.get(key);
  if (!state.repos.has(key) && moved) {
    // services/context/repo.go RedirectToRepo: 307 to the same path under the new name.
    const to = url.pathname.replace(
      `${r[1]}/${r[2]}`,
      `${encodeURIComponent(moved.owner)}/${encodeURIComponent(moved.name)}`,
    ) + url.search;
    return json(307, undefined, { Location: to });
  }
  const repo = state.repos.get(key);
  // routers/api/v1/api.go repoAssignment: a repository the user cannot read is "not found".
  const perms = repo?.access.get(token.user);
  if (!repo || !perms?.pull) return json(404, { message: "The target couldn't be found." });
  return repoRoute(state, req, url, call.body, repo, perms, r[3] ?? "", reject);
}

function repoRoute(
  state: FakeState,
  req: Request,
  url: URL,
  body: unknown,
  repo: FakeRepo,
  perms: Perms,
  rest: string,
  reject: (status: number, reason: string) => Response,
): Response {
  const method = req.method;
  if (rest === "" && method === "GET") {
    // routers/api/v1/repo/repo.go Get: `permissions` is the *user's* (ctx.Repo.Permission),
    // whatever the token's scope.
    return json(200, repoJson(repo, perms, url.origin));
  }
  if (rest.startsWith("/hooks")) {
    // routers/api/v1/api.go: the hooks group is reqAdmin().
    if (!perms.admin) {
      return json(403, { message: "Must be an organization owner or repository admin" });
    }
    return hookRoute(state, method, body, repo, rest, reject);
  }
  const t = /^\/tags\/(.+)$/.exec(rest);
  if (t && method === "GET") {
    // routers/api/v1/repo/tag.go GetTag: 404 for a tag the repository does not have.
    const name = decodeURIComponent(t[1]);
    const tag = repo.tags.get(name);
    if (!tag) return json(404, { message: "The target couldn't be found." });
    return json(200, {
      name,
      message: name,
      id: tag.object,
      commit: {
        url: `${url.origin}/api/v1/repos/${repo.owner}/${repo.name}/git/commits/${tag.commit}`,
        sha: tag.commit,
        created: "2024-05-01T10:00:00Z",
      },
      zipball_url: `${url.origin}/${repo.owner}/${repo.name}/archive/${name}.zip`,
      tarball_url: `${url.origin}/${repo.owner}/${repo.name}/archive/${name}.tar.gz`,
    });
  }
  const s = /^\/statuses\/([^/]+)$/.exec(rest);
  if (s && method === "POST") {
    return postStatus(repo, perms, decodeURIComponent(s[1]), body, reject);
  }
  return reject(404, `no such endpoint ${method} ${url.pathname}`);
}

function postStatus(
  repo: FakeRepo,
  perms: Perms,
  ref: string,
  body: unknown,
  reject: (status: number, reason: string) => Response,
): Response {
  // routers/api/v1/api.go: POST statuses/{sha} is reqRepoWriter(unit.TypeCode).
  if (!perms.push) {
    return json(403, { message: "user should have a permission to write to a repo" });
  }
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.state !== "string" || !STATUS_STATES.has(b.state)) {
    return reject(422, "invalid state");
  }
  for (const f of ["context", "description", "target_url"]) {
    if (typeof b[f] !== "string") return reject(422, `missing ${f}`);
  }
  // services/repository/commitstatus/commitstatus.go CreateCommitStatus: gitRepo.GetCommit(sha)
  // resolves any ref (commit id, branch, tag); an unknown one is an error the API route
  // (routers/api/v1/repo/status.go NewCommitStatus) answers with 500.
  const sha = repo.commits.has(ref) ? ref : repo.branches.get(ref) ?? repo.tags.get(ref)?.commit;
  if (sha === undefined) {
    return json(500, { message: `GetCommit[${ref}]: object does not exist [id: ${ref}]` });
  }
  const st = {
    sha,
    state: b.state,
    context: b.context as string,
    description: b.description as string,
    target_url: b.target_url as string,
  };
  repo.statuses.push(st);
  return json(201, { id: repo.statuses.length, status: st.state, ...st });
}

function hookRoute(
  state: FakeState,
  method: string,
  body: unknown,
  repo: FakeRepo,
  rest: string,
  reject: (status: number, reason: string) => Response,
): Response {
  if (rest === "/hooks" && method === "POST") {
    // routers/api/v1/utils/hook.go addHook: the secret is taken on creation (both forges).
    const problem = hookProblem(state, body, true);
    if (problem) return reject(422, problem);
    const b = body as { type: string; config: Record<string, string>; events: string[] };
    const hook: FakeHook = {
      id: state.nextHookId++,
      type: b.type,
      url: b.config.url,
      contentType: b.config.content_type,
      secret: b.config.secret ?? "",
      events: b.events,
      active: true,
    };
    repo.hooks.push(hook);
    return json(201, hookJson(hook));
  }
  const h = /^\/hooks\/(\d+)$/.exec(rest);
  if (!h) return reject(404, `no such endpoint ${method} ${rest}`);
  // routers/api/v1/utils/hook.go GetRepoHook: 404 for an unknown id (0 included).
  const hook = repo.hooks.find((x) => x.id === Number(h[1]));
  if (!hook) return json(404, { message: "The target couldn't be found." });
  if (method === "GET") return json(200, hookJson(hook));
  if (method === "DELETE") {
    repo.hooks.splice(repo.hooks.indexOf(hook), 1);
    return new Response(null, { status: 204 });
  }
  if (method !== "PATCH") return reject(405, `${method} on a hook`);
  const problem = hookProblem(state, body, false);
  if (problem) return reject(422, problem);
  const b = body as { config?: Record<string, string>; events?: string[]; active?: boolean };
  // routers/api/v1/utils/hook.go editHook: url and content_type from config; Forgejo
  // ignores `secret` (the PATCH still answers 200), Gitea's editHook applies it.
  hook.url = b.config?.url ?? hook.url;
  hook.contentType = b.config?.content_type ?? hook.contentType;
  if (state.flavor === "gitea" && b.config?.secret !== undefined) hook.secret = b.config.secret;
  // An edit without events resets them to push only; active changes only when sent.
  hook.events = b.events && b.events.length > 0 ? b.events : ["push"];
  if (b.active !== undefined) hook.active = b.active;
  return json(200, hookJson(hook));
}

function hookProblem(state: FakeState, body: unknown, create: boolean): string | undefined {
  const b = body as Record<string, unknown> | undefined;
  if (!b || typeof b !== "object") return "body required";
  if (create) {
    // services/webhook IsValidHookTaskType; Gitea has no "forgejo" type.
    const valid = state.flavor === "forgejo" ? ["forgejo", "gitea", "gogs"] : ["gitea", "gogs"];
    if (typeof b.type !== "string" || !valid.includes(b.type)) {
      return `invalid hook type ${String(b.type)}`;
    }
  }
  const config = b.config as Record<string, unknown> | undefined;
  if (!config || typeof config !== "object") return "missing config";
  // checkCreateHookOption: "Missing config option: url/content_type", "Invalid content type".
  for (const k of ["url", "content_type"]) {
    if (typeof config[k] !== "string") return `Missing config option: ${k}`;
  }
  if (config.content_type !== "json" && config.content_type !== "form") {
    return "Invalid content type";
  }
  // Stricter than the forge (despacito's protocol): a hook without a secret, or with the
  // events left to default (push), or inactive (form.Active defaults to false) is a bug.
  if (typeof config.secret !== "string" || config.secret === "") {
    return "despacito must always send config.secret";
  }
  if (!Array.isArray(b.events) || b.events.length === 0) {
    return "events must be listed (an empty list means push only)";
  }
  for (const e of b.events) if (!HOOK_EVENTS.has(e)) return `unknown event ${String(e)}`;
  if (b.active !== true) return "active must be true (it defaults to false)";
  return undefined;
}

// services/convert/repository.go innerToRepo (the fields despacito reads, and a few more).
function repoJson(r: FakeRepo, perms: Perms, origin: string) {
  return {
    id: 1,
    owner: { id: 1, login: r.owner, full_name: "", email: `${r.owner}@noreply.localhost` },
    name: r.name,
    full_name: `${r.owner}/${r.name}`,
    description: "",
    empty: false,
    private: false,
    fork: false,
    html_url: `${origin}/${r.owner}/${r.name}`,
    ssh_url: `git@127.0.0.1:${r.owner}/${r.name}.git`,
    clone_url: `${origin}/${r.owner}/${r.name}.git`,
    default_branch: "main",
    permissions: perms,
  };
}

// services/webhook/general.go ToHook: config shows url and content_type, never the secret.
function hookJson(h: FakeHook) {
  return {
    id: h.id,
    type: h.type,
    branch_filter: "",
    config: { content_type: h.contentType, url: h.url },
    events: h.events,
    authorization_header: "",
    active: h.active,
    updated_at: "2024-05-01T10:00:00Z",
    created_at: "2024-05-01T10:00:00Z",
  };
}
