/**
 * Builds the flake reference a forge-triggered deployment pins: the
 * package input's declared source (flake.lock `original`) moved to the tag
 * and, when known, the commit. Pure; refuses sources it cannot pin.
 */

import { DomainError } from "../core/errors.ts";
import type { DeclaredSource } from "./ports.ts";

export function pinnedFlakeRef(src: DeclaredSource, tag: string, sha: string | undefined): string {
  switch (src.type) {
    case "git": {
      if (!src.url) break;
      let u: URL;
      try {
        u = new URL(src.url.replace(/^git\+/, ""));
      } catch (e) {
        throw unsupported(`its url "${src.url}" is not a URL`, e);
      }
      u.searchParams.delete("ref");
      u.searchParams.delete("rev");
      // Built by hand so the ref reads refs/tags/v1 rather than refs%2Ftags%2Fv1.
      const params = [
        ...(u.search ? [u.search.slice(1)] : []),
        `ref=refs/tags/${encodeURIComponent(tag).replaceAll("%2F", "/")}`,
        ...(sha ? [`rev=${sha}`] : []),
      ];
      u.search = "";
      return `git+${u.toString()}?${params.join("&")}`;
    }
    case "github":
    case "gitlab":
    case "sourcehut": {
      if (!src.owner || !src.repo) break;
      // These fetchers take a ref or a rev, never both: the commit wins when known.
      const at = sha ?? encodeURIComponent(tag);
      const host = src.host ? `?host=${encodeURIComponent(src.host)}` : "";
      return `${src.type}:${src.owner}/${src.repo}/${at}${host}`;
    }
  }
  throw unsupported(`its type is "${src.type}"`);
}

function unsupported(why: string, cause?: unknown) {
  return new DomainError(
    "unprocessable",
    "unsupported_input_source",
    `cannot pin the package's flake input to a tag: ${why} (supported: git, github, gitlab, sourcehut)`,
    { cause },
  );
}
