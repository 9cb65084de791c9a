/**
 * Applies the matching rule (source_match.ts) where the forge needs it,
 * with deploy's parser and the flake's declared sources read through the
 * ports: is a package's declared input the connected repository (connect
 * time, every delivery), and which commit of the connected repository a
 * deployment ran (commit statuses). Throws DomainError for the API; never
 * talks to the forge.
 */

import { DomainError, invalidRequest } from "../core/errors.ts";
import type { ForgeDeps } from "./deps.ts";
import type { DeclaredSource, DeploymentStatusEvent } from "./ports.ts";
import { type RepoLocation, sourceMismatch } from "./source_match.ts";

export interface LocationInput {
  forgeUrl: string;
  owner: string;
  repo: string;
  sourceUrl: string | null;
}

/** The connection's location with its source_url parsed by deploy's parser. */
export function locationOf(deps: ForgeDeps, c: LocationInput): RepoLocation {
  const loc: RepoLocation = { forgeUrl: c.forgeUrl, owner: c.owner, repo: c.repo };
  if (c.sourceUrl !== null) {
    const parsed = deps.ports.parseSource(c.sourceUrl);
    if (!parsed) {
      throw invalidRequest([{ field: "source_url", message: "is not a flake reference" }]);
    }
    // Only where it is, never which ref/rev: a source_url names a repository.
    loc.source = { type: parsed.type };
    for (const k of ["url", "owner", "repo", "host"] as const) {
      if (parsed[k] !== undefined) loc.source[k] = parsed[k];
    }
  }
  return loc;
}

/** The package's declared source, which must be the connected repository (422 otherwise). */
export async function requireConnectedSource(
  deps: ForgeDeps,
  c: LocationInput,
  pkg: string,
): Promise<DeclaredSource> {
  const loc = locationOf(deps, c);
  const declared = await deps.ports.declaredSource(pkg);
  if (!declared) {
    throw new DomainError(
      "unprocessable",
      "unknown_package",
      `the deployment flake has no input "${pkg}"`,
    );
  }
  const why = sourceMismatch(loc, declared);
  if (why) {
    throw new DomainError(
      "unprocessable",
      "source_mismatch",
      `the deployment flake's input "${pkg}" is not this repository: ${why}`,
    );
  }
  return declared;
}

/**
 * The commit of the connected repository a deployment event is about, or
 * why there is none: the deployment's flake_ref (or, without one, the
 * package's declared source) must be the connected repository, and the
 * commit is the ref's `rev` or, once pinned, the input's locked rev.
 */
export async function sourceCommit(
  deps: ForgeDeps,
  c: LocationInput,
  e: DeploymentStatusEvent,
): Promise<{ sha: string } | { skip: string }> {
  let loc: RepoLocation;
  try {
    loc = locationOf(deps, c);
  } catch {
    return { skip: "the connection's source_url is not a flake reference" };
  }
  const parsed = e.flakeRef === null ? undefined : deps.ports.parseSource(e.flakeRef);
  if (e.flakeRef !== null && !parsed) return { skip: "its flake_ref cannot be parsed" };
  let src;
  try {
    src = parsed ?? await deps.ports.declaredSource(e.package);
  } catch (err) {
    return { skip: `its declared source cannot be read: ${(err as Error).message}` };
  }
  if (!src) return { skip: "the package is no longer an input of the flake" };
  const why = sourceMismatch(loc, src);
  if (why) return { skip: `its source is another repository: ${why}` };
  const sha = parsed?.rev ?? e.lockedRev ?? undefined;
  if (!sha || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha)) {
    return { skip: "its source commit is not known (yet)" };
  }
  return { sha };
}
