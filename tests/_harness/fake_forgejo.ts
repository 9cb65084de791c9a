/**
 * A fake Forgejo (or Gitea) API server on loopback for tests: the endpoints
 * despacito uses (repository, version, hooks, tags, commit statuses), held
 * to the protocol — `Authorization: token <PAT>` only, JSON bodies with the
 * required fields, valid event names, `active: true` — and recording every
 * call so tests assert exact requests. It also delivers webhooks the way
 * Forgejo builds them: Go's indented JSON (HTML characters escaped), every
 * X-Forgejo-/X-Gitea-/X-Gogs-/X-GitHub- header, HMAC over the payload bytes.
 */

export type Flavor = "forgejo" | "gitea";

export interface Perms {
  admin: boolean;
  push: boolean;
  pull: boolean;
}

export interface RecordedCall {
  method: string;
  path: string;
  authorization: string | null;
  contentType: string | null;
  body: unknown;
  status: number;
}

export interface FakeHook {
  id: number;
  type: string;
  url: string;
  contentType: string;
  secret: string;
  events: string[];
  active: boolean;
}

interface FakeRepo {
  owner: string;
  name: string;
  perms: Map<string, Perms>;
  tags: Map<string, { commit: string; object: string }>;
  hooks: FakeHook[];
  statuses: {
    sha: string;
    state: string;
    context: string;
    description: string;
    target_url: string;
  }[];
}

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
const STATUS_STATES = new Set(["pending", "success", "error", "failure", "warning"]);

export interface FakeForgejo {
  url: string;
  flavor: Flavor;
  calls: RecordedCall[];
  /** Requests the fake refused as off-protocol, with the reason. */
  rejections: { method: string; path: string; reason: string }[];
  addRepo(owner: string, name: string, tokens: Record<string, Perms>): void;
  addTag(owner: string, name: string, tag: string, commit: string, object?: string): void;
  hooks(owner: string, name: string): FakeHook[];
  statuses(owner: string, name: string): FakeRepo["statuses"];
  /** The next `n` requests matching `path` answer `status` (simulates an outage). */
  failNext(pathPattern: RegExp, n: number, status?: number): void;
  /** Delivers `payload` to every active hook of the repo subscribed to `event`, like the forge. */
  fire(owner: string, name: string, event: string, payload: unknown): Promise<Response[]>;
  close(): Promise<void>;
}

export function startFakeForgejo(flavor: Flavor = "forgejo"): Promise<FakeForgejo> {
  const repos = new Map<string, FakeRepo>();
  const calls: RecordedCall[] = [];
  const rejections: FakeForgejo["rejections"] = [];
  const faults: { re: RegExp; left: number; status: number }[] = [];
  let nextHookId = 100;

  const json = (status: number, body: unknown) =>
    new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: body === undefined ? {} : { "Content-Type": "application/json;charset=utf-8" },
    });

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const path = url.pathname;
    const text = await req.text();
    let body: unknown = undefined;
    const reject = (status: number, reason: string) => {
      rejections.push({ method: req.method, path, reason });
      return json(status, { message: reason });
    };
    const call: RecordedCall = {
      method: req.method,
      path,
      authorization: req.headers.get("authorization"),
      contentType: req.headers.get("content-type"),
      body: undefined,
      status: 0,
    };
    calls.push(call);
    const answer = (r: Response) => {
      call.status = r.status;
      return r;
    };

    if (text !== "") {
      if (!/^application\/json\b/.test(call.contentType ?? "")) {
        return answer(reject(415, "body without Content-Type: application/json"));
      }
      try {
        body = JSON.parse(text);
      } catch {
        return answer(reject(400, "malformed JSON"));
      }
      call.body = body;
    }
    const fault = faults.find((f) => f.left > 0 && f.re.test(path));
    if (fault) {
      fault.left--;
      return answer(json(fault.status, { message: "simulated outage" }));
    }

    if (path === "/api/forgejo/v1/version" && req.method === "GET") {
      return answer(
        flavor === "forgejo"
          ? json(200, { version: "9.0.3+gitea-1.22.0" })
          : json(404, { message: "not found" }),
      );
    }
    if (path === "/api/v1/version" && req.method === "GET") {
      return answer(json(200, { version: flavor === "forgejo" ? "9.0.3+gitea-1.22.0" : "1.22.6" }));
    }

    const auth = call.authorization;
    const m = auth === null ? null : /^token ([^\s]+)$/.exec(auth);
    if (!m) {
      return answer(
        reject(
          401,
          auth === null ? "no Authorization header" : "Authorization must be `token <PAT>`",
        ),
      );
    }
    const token = m[1];

    const r = /^\/api\/v1\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
    if (!r) return answer(reject(404, `no such endpoint ${req.method} ${path}`));
    const repo = repos.get(`${decodeURIComponent(r[1])}/${decodeURIComponent(r[2])}`);
    const perms = repo?.perms.get(token);
    const knownToken = [...repos.values()].some((x) => x.perms.has(token));
    if (!knownToken) return answer(json(401, { message: "token is invalid" }));
    if (!repo || !perms?.pull) return answer(json(404, { message: "repository not found" }));
    const rest = r[3] ?? "";

    if (rest === "" && req.method === "GET") {
      return answer(json(200, repoJson(repo, perms, url.origin)));
    }

    if (rest === "/hooks" && req.method === "POST") {
      if (!perms.admin) return answer(json(403, { message: "admin access required" }));
      const problem = hookProblem(body, true);
      if (problem) return answer(reject(422, problem));
      const b = body as {
        type: string;
        config: Record<string, string>;
        events: string[];
        active: boolean;
      };
      const hook: FakeHook = {
        id: nextHookId++,
        type: b.type,
        url: b.config.url,
        contentType: b.config.content_type,
        secret: b.config.secret ?? "",
        events: b.events,
        active: b.active,
      };
      repo.hooks.push(hook);
      return answer(json(201, hookJson(hook)));
    }
    const h = /^\/hooks\/(\d+)$/.exec(rest);
    if (h && (req.method === "PATCH" || req.method === "DELETE")) {
      if (!perms.admin) return answer(json(403, { message: "admin access required" }));
      const hook = repo.hooks.find((x) => x.id === Number(h[1]));
      if (!hook) return answer(json(404, { message: "hook not found" }));
      if (req.method === "DELETE") {
        repo.hooks.splice(repo.hooks.indexOf(hook), 1);
        return answer(new Response(null, { status: 204 }));
      }
      const problem = hookProblem(body, false);
      if (problem) return answer(reject(422, problem));
      const b = body as { config: Record<string, string>; events: string[]; active: boolean };
      hook.url = b.config.url ?? hook.url;
      hook.contentType = b.config.content_type ?? hook.contentType;
      if ("secret" in b.config) hook.secret = b.config.secret;
      hook.events = b.events;
      hook.active = b.active;
      return answer(json(200, hookJson(hook)));
    }
    const t = /^\/tags\/(.+)$/.exec(rest);
    if (t && req.method === "GET") {
      const name = decodeURIComponent(t[1]);
      const tag = repo.tags.get(name);
      if (!tag) return answer(json(404, { message: "tag not found" }));
      return answer(json(200, {
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
      }));
    }
    const s = /^\/statuses\/([^/]+)$/.exec(rest);
    if (s && req.method === "POST") {
      if (!perms.push) return answer(json(403, { message: "write access required" }));
      const b = (body ?? {}) as Record<string, unknown>;
      if (!/^[0-9a-f]{40}$/.test(s[1])) return answer(reject(422, "sha must be a full commit id"));
      if (typeof b.state !== "string" || !STATUS_STATES.has(b.state)) {
        return answer(reject(422, "invalid state"));
      }
      for (const f of ["context", "description", "target_url"]) {
        if (typeof b[f] !== "string") return answer(reject(422, `missing ${f}`));
      }
      const st = {
        sha: s[1],
        state: b.state,
        context: b.context as string,
        description: b.description as string,
        target_url: b.target_url as string,
      };
      repo.statuses.push(st);
      return answer(json(201, { id: repo.statuses.length, status: st.state, ...st }));
    }
    return answer(reject(404, `no such endpoint ${req.method} ${path}`));
  }

  function hookProblem(body: unknown, create: boolean): string | undefined {
    const b = body as Record<string, unknown> | undefined;
    if (!b || typeof b !== "object") return "body required";
    if (create) {
      const valid = flavor === "forgejo" ? ["forgejo", "gitea", "gogs"] : ["gitea", "gogs"];
      if (typeof b.type !== "string" || !valid.includes(b.type)) {
        return `invalid hook type ${String(b.type)}`;
      }
    }
    const config = b.config as Record<string, unknown> | undefined;
    if (!config || typeof config !== "object") return "missing config";
    for (const k of ["url", "content_type"]) {
      if (typeof config[k] !== "string") return `missing config option: ${k}`;
    }
    if (config.content_type !== "json" && config.content_type !== "form") {
      return "invalid content type";
    }
    if (typeof config.secret !== "string" || config.secret === "") {
      return "missing config option: secret";
    }
    if (!Array.isArray(b.events) || b.events.length === 0) {
      return "events must be listed (an empty list means push only)";
    }
    for (const e of b.events) if (!HOOK_EVENTS.has(e)) return `unknown event ${String(e)}`;
    if (b.active !== true) return "active must be true (it defaults to false)";
    return undefined;
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handle);
  const origin = `http://127.0.0.1:${server.addr.port}`;

  return Promise.resolve({
    url: origin,
    flavor,
    calls,
    rejections,
    addRepo(owner, name, tokens) {
      repos.set(`${owner}/${name}`, {
        owner,
        name,
        perms: new Map(Object.entries(tokens)),
        tags: new Map(),
        hooks: [],
        statuses: [],
      });
    },
    addTag(owner, name, tag, commit, object = commit) {
      repos.get(`${owner}/${name}`)!.tags.set(tag, { commit, object });
    },
    hooks: (owner, name) => repos.get(`${owner}/${name}`)!.hooks,
    statuses: (owner, name) => repos.get(`${owner}/${name}`)!.statuses,
    failNext(re, n, status = 503) {
      faults.push({ re, left: n, status });
    },
    async fire(owner, name, event, payload) {
      const out: Response[] = [];
      for (const hook of repos.get(`${owner}/${name}`)!.hooks) {
        if (!hook.active || !hook.events.includes(event)) continue;
        const d = await buildDelivery({
          flavor,
          event,
          payload,
          secret: hook.secret,
          contentType: hook.contentType as "json" | "form",
        });
        out.push(await fetch(hook.url, { method: "POST", headers: d.headers, body: d.body }));
      }
      return out;
    },
    close: () => server.shutdown(),
  });
}

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

// ---- deliveries, built the way Forgejo builds them ----------------------------

/** Go's json.MarshalIndent(v, "", "  "): JSON.stringify with HTML-safe escapes. */
export function goJson(value: unknown): string {
  return JSON.stringify(value, null, 2)
    .replaceAll("<", "\\u003c")
    .replaceAll(">", "\\u003e")
    .replaceAll("&", "\\u0026")
    .replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029");
}

/** Go's url.QueryEscape (used by url.Values.Encode). */
export function goQueryEscape(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  )
    .replaceAll("%20", "+");
}

async function hmac(hash: "SHA-1" | "SHA-256", secret: string, data: Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, data as BufferSource));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

export interface DeliveryOptions {
  flavor?: Flavor;
  event: string;
  payload: unknown;
  secret: string;
  contentType?: "json" | "form";
  deliveryId?: string;
}

export interface BuiltDelivery {
  headers: Headers;
  body: Uint8Array<ArrayBuffer>;
  /** The signed bytes (the JSON payload). */
  payload: Uint8Array<ArrayBuffer>;
}

export async function buildDelivery(o: DeliveryOptions): Promise<BuiltDelivery> {
  const payloadText = goJson(o.payload);
  const payload = new TextEncoder().encode(payloadText);
  const form = o.contentType === "form";
  const body = form ? new TextEncoder().encode(`payload=${goQueryEscape(payloadText)}`) : payload;
  const sig256 = await hmac("SHA-256", o.secret, payload);
  const sig1 = await hmac("SHA-1", o.secret, payload);
  const id = o.deliveryId ?? crypto.randomUUID();
  const h = new Headers();
  h.set("Content-Type", form ? "application/x-www-form-urlencoded" : "application/json");
  h.set("User-Agent", "Go-http-client/1.1");
  const prefixes = o.flavor === "gitea" ? ["Gitea", "Gogs"] : ["Forgejo", "Gitea", "Gogs"];
  for (const p of prefixes) {
    h.set(`X-${p}-Delivery`, id);
    h.set(`X-${p}-Event`, o.event);
    h.set(`X-${p}-Event-Type`, o.event);
    h.set(`X-${p}-Signature`, sig256);
  }
  h.set("X-Hub-Signature", `sha1=${sig1}`);
  h.set("X-Hub-Signature-256", `sha256=${sig256}`);
  h.set("X-GitHub-Delivery", id);
  h.set("X-GitHub-Event", o.event);
  h.set("X-GitHub-Event-Type", o.event);
  return { headers: h, body, payload };
}

// Payload shapes (field order as in Forgejo's modules/structs) ------------------

export function repositoryPayload(origin: string, owner: string, name: string) {
  return {
    id: 1,
    owner: userPayload(owner),
    name,
    full_name: `${owner}/${name}`,
    description: "Deploys <web> & friends",
    empty: false,
    private: false,
    fork: false,
    template: false,
    parent: null,
    mirror: false,
    size: 42,
    html_url: `${origin}/${owner}/${name}`,
    url: `${origin}/api/v1/repos/${owner}/${name}`,
    ssh_url: `git@127.0.0.1:${owner}/${name}.git`,
    clone_url: `${origin}/${owner}/${name}.git`,
    default_branch: "main",
    created_at: "2024-05-01T10:00:00Z",
    updated_at: "2024-05-01T10:00:00Z",
  };
}

export function userPayload(login: string) {
  return {
    id: 1,
    login,
    login_name: "",
    source_id: 0,
    full_name: "",
    email: `${login}@noreply.localhost`,
    avatar_url: "",
    html_url: "",
    language: "",
    is_admin: false,
    username: login,
  };
}

export function releasePayload(
  origin: string,
  owner: string,
  name: string,
  o: { tag: string; action?: string; draft?: boolean; prerelease?: boolean },
) {
  return {
    action: o.action ?? "published",
    release: {
      id: 7,
      tag_name: o.tag,
      target_commitish: "main",
      name: `Release ${o.tag}`,
      body: "What's new: <b>everything</b>",
      url: `${origin}/api/v1/repos/${owner}/${name}/releases/7`,
      html_url: `${origin}/${owner}/${name}/releases/tag/${o.tag}`,
      tarball_url: `${origin}/${owner}/${name}/archive/${o.tag}.tar.gz`,
      zipball_url: `${origin}/${owner}/${name}/archive/${o.tag}.zip`,
      hide_archive_links: false,
      upload_url: `${origin}/api/v1/repos/${owner}/${name}/releases/7/assets`,
      draft: o.draft ?? false,
      prerelease: o.prerelease ?? false,
      created_at: "2024-05-01T10:00:00Z",
      published_at: "2024-05-01T10:00:00Z",
      author: userPayload(owner),
      assets: [],
    },
    repository: repositoryPayload(origin, owner, name),
    sender: userPayload(owner),
  };
}

export function createPayload(
  origin: string,
  owner: string,
  name: string,
  o: { ref: string; refType: "tag" | "branch"; sha: string },
) {
  return {
    sha: o.sha,
    ref: o.ref,
    ref_type: o.refType,
    repository: repositoryPayload(origin, owner, name),
    sender: userPayload(owner),
  };
}

export function pushPayload(
  origin: string,
  owner: string,
  name: string,
  o: { ref: string; before?: string; after: string },
) {
  const commit = {
    id: o.after,
    message: "Release things\n",
    url: `${origin}/${owner}/${name}/commit/${o.after}`,
    author: { name: owner, email: `${owner}@noreply.localhost`, username: owner },
    committer: { name: owner, email: `${owner}@noreply.localhost`, username: owner },
    verification: null,
    timestamp: "2024-05-01T10:00:00Z",
    added: [],
    removed: [],
    modified: ["flake.nix"],
  };
  return {
    ref: o.ref,
    before: o.before ?? "0000000000000000000000000000000000000000",
    after: o.after,
    compare_url: `${origin}/${owner}/${name}/compare/${o.before ?? ""}...${o.after}`,
    commits: [commit],
    total_commits: 1,
    head_commit: commit,
    repository: repositoryPayload(origin, owner, name),
    pusher: userPayload(owner),
    sender: userPayload(owner),
  };
}
