/**
 * A fake Forgejo (or Gitea) on loopback for tests: the endpoints despacito
 * uses, answering as the real API does (each behaviour cites the Forgejo
 * source it follows) and strict where despacito's own protocol is concerned
 * (`Authorization: token <PAT>` only, JSON bodies, valid event names,
 * `active: true`): off-protocol requests are refused and listed in
 * `rejections`. Every call is recorded so tests assert exact requests.
 *
 * The model: users hold permissions on repositories, tokens belong to users
 * and carry scopes; repositories have commits, branches, tags, hooks,
 * releases and statuses, and may be moved (renamed or transferred). The
 * request handling lives in fake_forgejo_api.ts; payloads and signed
 * deliveries in forgejo_payloads.ts.
 */

import { handleApi } from "./fake_forgejo_api.ts";
import { buildDelivery, type Flavor, releasePayload } from "./forgejo_payloads.ts";

export type { Flavor } from "./forgejo_payloads.ts";
export * from "./forgejo_payloads.ts";

/** A user's permission on a repository (models/perm/access, as the repository API shows it). */
export interface Perms {
  admin: boolean;
  push: boolean;
  pull: boolean;
}

/** A token's user's permissions plus the token's scopes (default: write:repository). */
export interface TokenAccess extends Perms {
  scopes?: string[];
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

export interface FakeRelease {
  tag: string;
  draft: boolean;
  prerelease: boolean;
}

export interface FakeStatus {
  sha: string;
  state: string;
  context: string;
  description: string;
  target_url: string;
}

export interface FakeRepo {
  owner: string;
  name: string;
  /** User login → permission. */
  access: Map<string, Perms>;
  commits: Set<string>;
  branches: Map<string, string>;
  tags: Map<string, { commit: string; object: string }>;
  hooks: FakeHook[];
  releases: FakeRelease[];
  statuses: FakeStatus[];
}

/** The fake's state, shared with the request handler. */
export interface FakeState {
  flavor: Flavor;
  repos: Map<string, FakeRepo>;
  /** Old "owner/name" → the repository now there (models/repo/redirect.go). */
  redirects: Map<string, FakeRepo>;
  /** Token → its user and scopes (models/auth/access_token.go). */
  tokens: Map<string, { user: string; scopes: string[] }>;
  calls: RecordedCall[];
  rejections: { method: string; path: string; reason: string }[];
  faults: { re: RegExp; left: number; status: number }[];
  nextHookId: number;
}

export interface FakeForgejo {
  url: string;
  flavor: Flavor;
  calls: RecordedCall[];
  /** Requests the fake refused as off-protocol, with the reason. */
  rejections: FakeState["rejections"];
  /** A repository (with branch main) and the tokens that reach it, each of its own user. */
  addRepo(owner: string, name: string, tokens: Record<string, TokenAccess>): void;
  addTag(owner: string, name: string, tag: string, commit: string, object?: string): void;
  /** A commit the repository has (tags and branches add theirs). */
  addCommit(owner: string, name: string, sha: string): void;
  /**
   * Gives a token other scopes (Forgejo's are fixed at creation: this stands for a token
   * replaced by one with other scopes, or a connection made before scopes were checked).
   */
  setScopes(token: string, scopes: string[]): void;
  /** Renames or transfers a repository; the old name redirects (307) from then on. */
  moveRepo(owner: string, name: string, newOwner: string, newName: string): void;
  hooks(owner: string, name: string): FakeHook[];
  statuses(owner: string, name: string): FakeStatus[];
  /** The next `n` requests matching `path` answer `status` (simulates an outage). */
  failNext(pathPattern: RegExp, n: number, status?: number): void;
  /** Delivers `payload` to every active hook of the repo subscribed to `event`, like the forge. */
  fire(owner: string, name: string, event: string, payload: unknown): Promise<Response[]>;
  /**
   * Creates a release as services/release/release.go CreateRelease does: its tag is
   * made unless it exists or the release is a draft; `published` is sent unless a draft.
   */
  createRelease(
    owner: string,
    name: string,
    r: FakeRelease & { commit: string },
  ): Promise<Response[]>;
  /**
   * Edits a release as services/release/release.go UpdateRelease does: nothing is
   * sent while a draft; `published` when this edit created the tag, else `updated`.
   */
  updateRelease(
    owner: string,
    name: string,
    tag: string,
    change: { draft?: boolean; prerelease?: boolean; commit?: string },
  ): Promise<Response[]>;
  close(): Promise<void>;
}

export function startFakeForgejo(flavor: Flavor = "forgejo"): Promise<FakeForgejo> {
  const state: FakeState = {
    flavor,
    repos: new Map(),
    redirects: new Map(),
    tokens: new Map(),
    calls: [],
    rejections: [],
    faults: [],
    nextHookId: 100,
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => handleApi(state, req),
  );
  const origin = `http://127.0.0.1:${server.addr.port}`;
  const repo = (owner: string, name: string) => {
    const r = state.repos.get(`${owner}/${name}`);
    if (!r) throw new Error(`fake forge: no repository ${owner}/${name}`);
    return r;
  };

  const fake: FakeForgejo = {
    url: origin,
    flavor,
    calls: state.calls,
    rejections: state.rejections,
    addRepo(owner, name, tokens) {
      const r: FakeRepo = {
        owner,
        name,
        access: new Map(),
        commits: new Set(["0123456789abcdef0123456789abcdef01234567"]),
        branches: new Map([["main", "0123456789abcdef0123456789abcdef01234567"]]),
        tags: new Map(),
        hooks: [],
        releases: [],
        statuses: [],
      };
      for (const [token, { scopes, ...perms }] of Object.entries(tokens)) {
        const known = state.tokens.get(token);
        const user = known?.user ?? `user${state.tokens.size + 1}`;
        state.tokens.set(token, { user, scopes: scopes ?? known?.scopes ?? ["write:repository"] });
        r.access.set(user, perms);
      }
      state.repos.set(`${owner}/${name}`, r);
    },
    addTag(owner, name, tag, commit, object = commit) {
      const r = repo(owner, name);
      r.tags.set(tag, { commit, object });
      r.commits.add(commit);
    },
    addCommit(owner, name, sha) {
      repo(owner, name).commits.add(sha);
    },
    setScopes(token, scopes) {
      const t = state.tokens.get(token);
      if (!t) throw new Error("fake forge: unknown token");
      t.scopes = scopes;
    },
    moveRepo(owner, name, newOwner, newName) {
      const r = repo(owner, name);
      state.repos.delete(`${owner}/${name}`);
      r.owner = newOwner;
      r.name = newName;
      state.repos.set(`${newOwner}/${newName}`, r);
      state.redirects.set(`${owner}/${name}`, r);
    },
    hooks: (owner, name) => repo(owner, name).hooks,
    statuses: (owner, name) => repo(owner, name).statuses,
    failNext(re, n, status = 503) {
      state.faults.push({ re, left: n, status });
    },
    async fire(owner, name, event, payload) {
      const out: Response[] = [];
      for (const hook of repo(owner, name).hooks) {
        if (!hook.active || !hook.events.includes(event)) continue;
        // Signed at delivery time with the hook's current secret (services/webhook/deliver.go).
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
    createRelease(owner, name, rel) {
      const r = repo(owner, name);
      r.releases.push({ tag: rel.tag, draft: rel.draft, prerelease: rel.prerelease });
      if (rel.draft) return Promise.resolve([]);
      if (!r.tags.has(rel.tag)) fake.addTag(owner, name, rel.tag, rel.commit);
      return fake.fire(owner, name, "release", releasePayload(origin, owner, name, rel));
    },
    updateRelease(owner, name, tag, change) {
      const r = repo(owner, name);
      const rel = r.releases.find((x) => x.tag === tag);
      if (!rel) throw new Error(`fake forge: no release ${tag}`);
      rel.draft = change.draft ?? rel.draft;
      rel.prerelease = change.prerelease ?? rel.prerelease;
      if (rel.draft) return Promise.resolve([]);
      const tagCreated = !r.tags.has(tag);
      if (tagCreated) fake.addTag(owner, name, tag, change.commit ?? r.branches.get("main")!);
      const action = tagCreated ? "published" : "updated";
      return fake.fire(
        owner,
        name,
        "release",
        releasePayload(origin, owner, name, { ...rel, action }),
      );
    },
    close: () => server.shutdown(),
  };
  return Promise.resolve(fake);
}
