/**
 * The matching rule between a repository connection and a flake source:
 * is this flake input (or this deployment's flake_ref) the connected
 * Forgejo/Gitea repository? Used at connect time (refuse a package whose
 * declared source is another repository), on every delivery (the flake may
 * have changed since) and before every commit status (never report on a
 * commit of some other repository). Pure: takes sources already parsed by
 * deploy's parser (through the ports), never fetches anything.
 *
 * The rule, without `source_url`: the source must be fetched with git from
 * the forge itself — `git+https://` or `git+http://` with the forge URL's
 * host (and port) and path prefix followed by `/<owner>/<repo>` (`.git` and
 * a trailing slash optional), or `git+ssh://` with the forge's host name
 * and `/<owner>/<repo>`. Owner and repo compare case-insensitively (the
 * forge treats them so). Nothing else is this repository: `github:` and
 * friends fetch from other hosts, tarballs carry no commit.
 *
 * With `source_url` (the operator's explicit statement that the flake
 * fetches this repository from elsewhere: a mirror, an SSH alias host, a
 * local clone), the source must be that location exactly (same type,
 * same normalised URL or owner/repo/host; only ref/rev may differ).
 */

import type { DeclaredSource } from "./ports.ts";

export interface RepoLocation {
  forgeUrl: string;
  owner: string;
  repo: string;
  /** The operator-stated flake location of this repository, parsed; absent: the forge's own. */
  source?: DeclaredSource;
}

/** A source as an operator would write it in flake.nix, for messages. */
export function displaySource(src: DeclaredSource): string {
  if (src.url !== undefined) return src.type === "git" ? `git+${src.url}` : src.url;
  if (src.owner !== undefined) {
    return `${src.type}:${src.owner}/${src.repo ?? ""}${src.host ? `?host=${src.host}` : ""}`;
  }
  return `(a ${src.type} source)`;
}

/** undefined when `src` is the connected repository; otherwise why not, in words. */
export function sourceMismatch(loc: RepoLocation, src: DeclaredSource): string | undefined {
  if (loc.source) {
    return sameLocation(loc.source, src)
      ? undefined
      : `${displaySource(src)} is not ${displaySource(loc.source)} (the connection's source_url)`;
  }
  const here = `${loc.forgeUrl}/${loc.owner}/${loc.repo}`;
  if (src.type !== "git" || src.url === undefined) {
    return `${displaySource(src)} is not fetched from ${here} ` +
      `(a connected package must be declared as git+https://…/${loc.owner}/${loc.repo} ` +
      `or git+ssh://…/${loc.owner}/${loc.repo} on the forge's host)`;
  }
  let u: URL;
  let forge: URL;
  try {
    u = new URL(src.url);
    forge = new URL(loc.forgeUrl);
  } catch {
    return `${displaySource(src)} is not a URL`;
  }
  const want = `/${loc.owner}/${loc.repo}`.toLowerCase();
  const path = repoPath(u.pathname).toLowerCase();
  const prefix = forge.pathname.replace(/\/+$/, "").toLowerCase();
  const ok = u.protocol === "https:" || u.protocol === "http:"
    ? u.host.toLowerCase() === forge.host.toLowerCase() && path === prefix + want
    : u.protocol === "ssh:"
    ? u.hostname.toLowerCase() === forge.hostname.toLowerCase() && path === want
    : false;
  return ok ? undefined : `${displaySource(src)} is not ${here} ` +
    `(expected git+${forge.protocol}//${forge.host}${prefix}${want}[.git] or ` +
    `git+ssh://<user>@${forge.hostname}${want}[.git]; if the flake fetches this repository ` +
    `from elsewhere, say so with "source_url")`;
}

/** Same place, ignoring which ref/rev of it is meant. */
function sameLocation(a: DeclaredSource, b: DeclaredSource): boolean {
  if (a.type !== b.type) return false;
  if (a.url !== undefined || b.url !== undefined) {
    return a.url !== undefined && b.url !== undefined && normalUrl(a.url) === normalUrl(b.url);
  }
  const low = (s: string | undefined) => (s ?? "").toLowerCase();
  return low(a.owner) === low(b.owner) && low(a.repo) === low(b.repo) &&
    low(a.host) === low(b.host);
}

function normalUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? `${u.username}@` : ""}${u.host.toLowerCase()}${
      repoPath(u.pathname)
    }`;
  } catch {
    return url;
  }
}

/** A repository path without a trailing slash or `.git`. */
function repoPath(pathname: string): string {
  return pathname.replace(/\/+$/, "").replace(/\.git$/, "");
}
