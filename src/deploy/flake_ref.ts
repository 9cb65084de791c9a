/**
 * Flake references: parsing the strings a webhook sends (`github:o/r/v1`,
 * `git+https://host/r?ref=…&rev=…`, tarball URLs, …), reading the declared
 * source of an input from flake.lock's `original`, the scheme allowlist, and
 * the same-repository rule: a request may change only ref/rev (or, for a
 * tarball, the file name), never where the source comes from, so a token
 * holder cannot pin `my-webapp` to somebody else's repository. Never runs
 * nix; nix does the fetching and is the final judge of syntax.
 */

export type SourceType =
  | "github"
  | "gitlab"
  | "sourcehut"
  | "git"
  | "tarball"
  | "file"
  | "path"
  | "indirect"
  | "other";

export interface FlakeSource {
  type: SourceType;
  /** The allowlist name: github, gitlab, sourcehut, git+https, git+ssh, git+file, https, path… */
  scheme: string;
  /** For git, tarball and file: the URL without flake parameters. */
  url?: string;
  owner?: string;
  repo?: string;
  host?: string;
  ref?: string;
  rev?: string;
  dir?: string;
}

const ARCHIVE = /\.(tar|tar\.gz|tgz|tar\.xz|txz|tar\.bz2|tbz2|tar\.zst|zip)$/i;
const FORGES = new Set(["github", "gitlab", "sourcehut"]);
const DEFAULT_HOST: Record<string, string> = {
  github: "github.com",
  gitlab: "gitlab.com",
  sourcehut: "git.sr.ht",
};
// Parameters that say where the source is (must match the declared input);
// everything else a request may carry is what to pick from it.
const IDENTITY_PARAMS = ["host", "dir"];
const SELECT_PARAMS = ["ref", "rev"];
const GIT_EXTRA_PARAMS = ["submodules", "shallow", "allRefs", "lfs"];

// What git accepts as a ref name, narrowed to what a release needs: never an
// option (`--upload-pack=…`), a shell or path trick (`$(id)`, `../x`) or a reflog (`@{`).
const REF = /^[A-Za-z0-9_][A-Za-z0-9._\/+-]{0,254}$/;
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/;
const DIR = /^[A-Za-z0-9_][A-Za-z0-9._\/-]{0,254}$/;

function refProblem(ref: string): string | undefined {
  if (!REF.test(ref) || ref.includes("..") || ref.includes("//") || ref.includes("@{")) {
    return "must be a git ref name (letters, digits, . _ / + -, not starting with - or .)";
  }
  if (ref.endsWith("/") || ref.endsWith(".") || ref.endsWith(".lock")) {
    return "must be a git ref name (no trailing /, . or .lock)";
  }
  return undefined;
}

export class FlakeRefError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FlakeRefError";
  }
}

/** Parses a flake reference string; throws FlakeRefError with a user-facing reason. */
export function parseFlakeRef(text: string): FlakeSource {
  if (text.length > 2048) throw new FlakeRefError("at most 2048 characters");
  // deno-lint-ignore no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(text)) throw new FlakeRefError("must not contain whitespace");
  // A fragment selects a flake output; an input override has none, and nix would read `#--x` as one.
  if (text.includes("#")) throw new FlakeRefError("must not contain # (no output selection)");
  if (text.startsWith("/") || text.startsWith(".")) return { type: "path", scheme: "path" };
  const colon = text.indexOf(":");
  if (colon <= 0) return { type: "indirect", scheme: "flake" };
  const scheme = text.slice(0, colon).toLowerCase();
  const rest = text.slice(colon + 1);
  if (FORGES.has(scheme)) return parseForge(scheme as SourceType, rest);
  if (scheme.startsWith("git+")) return parseUrlRef("git", scheme, text.slice(4));
  if (scheme === "http" || scheme === "https") {
    const type = ARCHIVE.test(new URL(safeUrl(text)).pathname) ? "tarball" : "file";
    return parseUrlRef(type, type === "file" ? `file+${scheme}` : scheme, text);
  }
  if (scheme.startsWith("tarball+")) return parseUrlRef("tarball", scheme, text.slice(8));
  if (scheme === "path") return { type: "path", scheme };
  if (scheme === "flake") return { type: "indirect", scheme };
  if (scheme === "file" || scheme.startsWith("file+")) return { type: "file", scheme };
  return { type: "other", scheme };
}

function safeUrl(text: string): string {
  try {
    new URL(text);
    return text;
  } catch {
    throw new FlakeRefError("not a valid URL");
  }
}

function parseForge(type: SourceType, rest: string): FlakeSource {
  const [path, query = ""] = splitOnce(rest, "?");
  const params = new URLSearchParams(query);
  const parts = path.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) {
    throw new FlakeRefError(`expected ${type}:OWNER/REPO[/REF-OR-REV]`);
  }
  checkParams(params, [...IDENTITY_PARAMS, ...SELECT_PARAMS]);
  if (!NAME.test(parts[0]) || !NAME.test(parts[1])) {
    throw new FlakeRefError(`${type}: OWNER and REPO must be names (letters, digits, . _ -)`);
  }
  const src: FlakeSource = { type, scheme: type, owner: parts[0], repo: parts[1] };
  if (parts[2] !== undefined) {
    if (/^[0-9a-f]{40}$/.test(parts[2])) src.rev = parts[2];
    else {
      const p = refProblem(parts[2]);
      if (p) throw new FlakeRefError(`ref ${p}`);
      src.ref = parts[2];
    }
  }
  assign(src, params);
  return src;
}

function parseUrlRef(type: SourceType, scheme: string, rawUrl: string): FlakeSource {
  const u = new URL(safeUrl(rawUrl));
  const params = u.searchParams;
  checkParams(
    params,
    type === "git" ? [...SELECT_PARAMS, "dir", ...GIT_EXTRA_PARAMS] : ["dir", "narHash"],
  );
  const src: FlakeSource = { type, scheme };
  assign(src, params);
  u.search = "";
  u.hash = "";
  src.url = u.toString();
  return src;
}

function assign(src: FlakeSource, params: URLSearchParams) {
  const ref = params.get("ref");
  const rev = params.get("rev");
  if (ref !== null) {
    const p = refProblem(ref);
    if (p) throw new FlakeRefError(`ref ${p}`);
    src.ref = ref;
  }
  if (rev !== null) {
    if (!/^[0-9a-f]{40}$/.test(rev)) throw new FlakeRefError("rev must be 40 hex characters");
    src.rev = rev;
  }
  const host = params.get("host");
  if (host !== null) {
    if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,252}(:\d{1,5})?$/.test(host)) {
      throw new FlakeRefError("host must be a host name");
    }
    src.host = host;
  }
  const dir = params.get("dir");
  if (dir !== null) {
    if (!DIR.test(dir) || dir.split("/").includes("..")) {
      throw new FlakeRefError("dir must be a relative path inside the repository");
    }
    src.dir = dir;
  }
}

function checkParams(params: URLSearchParams, allowed: string[]) {
  const bad = [...params.keys()].filter((k) => !allowed.includes(k));
  if (bad.length > 0) throw new FlakeRefError(`unsupported parameter(s): ${bad.join(", ")}`);
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

/** The declared source of an input, from its flake.lock `original` attribute set. */
export function sourceFromOriginal(original: Record<string, unknown>): FlakeSource {
  const str = (k: string) => (typeof original[k] === "string" ? original[k] as string : undefined);
  const type = str("type") ?? "other";
  if (FORGES.has(type)) {
    return {
      type: type as SourceType,
      scheme: type,
      owner: str("owner"),
      repo: str("repo"),
      host: str("host"),
      ref: str("ref"),
      rev: str("rev"),
      dir: str("dir"),
    };
  }
  if (type === "git" || type === "tarball" || type === "file") {
    const url = str("url") ?? "";
    const proto = url.slice(0, Math.max(0, url.indexOf(":")));
    const scheme = type === "git" ? `git+${proto}` : type === "tarball" ? proto : `file+${proto}`;
    return { type, scheme, url, ref: str("ref"), rev: str("rev"), dir: str("dir") };
  }
  if (type === "path") return { type: "path", scheme: "path", url: str("path") };
  if (type === "indirect") return { type: "indirect", scheme: "flake", repo: str("id") };
  return { type: "other", scheme: type };
}

/** A flake reference string for a source (used when no ref was requested). */
export function formatSource(src: FlakeSource): string {
  if (FORGES.has(src.type)) {
    const q = new URLSearchParams();
    if (src.host) q.set("host", src.host);
    if (src.dir) q.set("dir", src.dir);
    const tail = src.rev ?? src.ref;
    const qs = q.toString();
    return `${src.type}:${src.owner}/${src.repo}${tail ? `/${tail}` : ""}${qs ? `?${qs}` : ""}`;
  }
  if (src.type === "git" && src.url) {
    const q = new URLSearchParams();
    if (src.ref) q.set("ref", src.ref);
    if (src.rev) q.set("rev", src.rev);
    if (src.dir) q.set("dir", src.dir);
    const qs = q.toString();
    return `git+${src.url}${qs ? `?${qs}` : ""}`;
  }
  return src.url ?? src.scheme;
}

function normalizeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.search = "";
    u.hash = "";
    u.pathname = u.pathname.replace(/\/+$/, "").replace(/\.git$/, "");
    return `${u.protocol}//${
      u.username ? `${u.username}@` : ""
    }${u.host.toLowerCase()}${u.pathname}`;
  } catch {
    return url;
  }
}

/** Where a source lives, ignoring which ref/rev of it is meant. */
export function repositoryIdentity(src: FlakeSource): string {
  if (FORGES.has(src.type)) {
    const host = (src.host ?? DEFAULT_HOST[src.type]).toLowerCase();
    return `${src.type}:${host}/${src.owner?.toLowerCase()}/${src.repo?.toLowerCase()}?dir=${
      src.dir ?? ""
    }`;
  }
  if (src.type === "git") return `git:${normalizeUrl(src.url ?? "")}?dir=${src.dir ?? ""}`;
  if (src.type === "tarball" && src.url) {
    // Tarball URLs name the release in the file; the same directory is the same project.
    const u = new URL(src.url);
    const dirPath = u.pathname.replace(/\/[^/]*$/, "/");
    return `tarball:${u.protocol}//${u.host.toLowerCase()}${dirPath}?dir=${src.dir ?? ""}`;
  }
  return `${src.type}:${src.url ?? src.repo ?? ""}`;
}

/** undefined when `requested` may replace `declared`; otherwise why not. */
export function sameRepositoryProblem(
  declared: FlakeSource,
  requested: FlakeSource,
): string | undefined {
  if (declared.type !== requested.type) {
    return `the input is declared as a ${declared.type} source, not ${requested.type}`;
  }
  if (declared.scheme !== requested.scheme) {
    return `the input is declared with ${declared.scheme}:, not ${requested.scheme}:`;
  }
  if (repositoryIdentity(declared) !== repositoryIdentity(requested)) {
    return "must point at the repository the input declares in flake.nix; only ref/rev may differ";
  }
  return undefined;
}

/** undefined when the scheme is allowed; otherwise why not. */
export function schemeProblem(src: FlakeSource, allowed: readonly string[]): string | undefined {
  return allowed.includes(src.scheme)
    ? undefined
    : `scheme "${src.scheme}" is not allowed (DESPACITO_FLAKE_REF_SCHEMES: ${allowed.join(", ")})`;
}
