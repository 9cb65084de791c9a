/**
 * Forgejo's webhook deliveries and payloads, built for tests the way Forgejo
 * builds them: Go's indented JSON with HTML characters escaped
 * (modules/json), every X-Forgejo-/X-Gitea-/X-Gogs-/X-GitHub- header and an
 * HMAC over the payload bytes (services/webhook/deliver.go), payload fields
 * in the order of modules/structs. Used by the fake forge (fake_forgejo.ts)
 * and by tests that forge or replay deliveries themselves.
 */

export type Flavor = "forgejo" | "gitea";

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
