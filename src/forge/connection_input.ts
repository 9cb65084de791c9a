/**
 * Reading a connection request and explaining forge API failures: the
 * words an operator sees when connecting a repository goes wrong.
 */

import { DomainError, type FieldProblem, invalidRequest } from "../core/errors.ts";
import { ForgeRequestError } from "./client.ts";
import type { Trigger } from "./events.ts";
import type { ConnectionProblem } from "./store.ts";

/** The scope every connection's token needs: commit statuses are writes to the repository. */
export const NEEDED_SCOPE = "write:repository";

export interface NewConnection {
  forgeUrl: string;
  owner: string;
  repo: string;
  package: string;
  token: string;
  trigger: Trigger;
  /** Optional: the flake location of this repository when the flake does not fetch it from the forge. */
  sourceUrl: string | null;
}

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;
const PACKAGE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function parseNewConnection(body: Record<string, unknown>): NewConnection {
  const problems: FieldProblem[] = [];
  const text = (field: string, re: RegExp, what: string): string => {
    const v = body[field];
    if (typeof v !== "string" || !re.test(v)) {
      problems.push({ field, message: v === undefined ? "required" : what });
      return "";
    }
    return v;
  };
  let forgeUrl = "";
  const rawUrl = body.forge_url;
  try {
    if (typeof rawUrl !== "string") throw new Error("not a string");
    const u = new URL(rawUrl);
    if ((u.protocol !== "https:" && u.protocol !== "http:") || u.search || u.hash || u.username) {
      throw new Error("not a plain http(s) URL");
    }
    forgeUrl = u.toString().replace(/\/+$/, "");
  } catch {
    problems.push({
      field: "forge_url",
      message: rawUrl === undefined ? "required" : "must be the forge's http(s) base URL",
    });
  }
  const owner = text("owner", NAME, "letters, digits, '-', '_' and '.' only");
  const repo = text("repo", NAME, "letters, digits, '-', '_' and '.' only");
  const pkg = text("package", PACKAGE, "must be a package name of the deployment flake");
  const token = text("token", /^\S{8,512}$/, "must be a personal access token (no spaces)");
  const trigger = body.trigger;
  if (trigger !== "release" && trigger !== "tag") {
    problems.push({ field: "trigger", message: 'must be "release" or "tag"' });
  }
  const sourceUrl = body.source_url ?? null;
  // Checked again by deploy's flake-ref parser (control characters and syntax) when used.
  if (sourceUrl !== null && (typeof sourceUrl !== "string" || !/^\S{1,2048}$/.test(sourceUrl))) {
    problems.push({ field: "source_url", message: "must be a flake URL (or null)" });
  }
  if (problems.length > 0) throw invalidRequest(problems);
  return {
    forgeUrl,
    owner,
    repo,
    package: pkg,
    token,
    trigger: trigger as Trigger,
    sourceUrl: sourceUrl as string | null,
  };
}

/** A forge API failure in words an operator can act on. */
export function forgeProblem(e: unknown, where: string): DomainError {
  if (!(e instanceof ForgeRequestError)) {
    return new DomainError("unavailable", "forge_error", `${where}: unexpected failure`, {
      cause: e,
    });
  }
  const s = e.status;
  const problem = credentialProblem(e, where);
  if (problem) {
    return new DomainError("unprocessable", problem.code, problem.message, {
      cause: e,
      extra: e.moved
        ? { moved_to: { owner: e.moved.owner, repo: e.moved.repo, location: e.moved.location } }
        : problem.code === "forge_token_cannot_write"
        ? { needed_scope: NEEDED_SCOPE }
        : undefined,
    });
  }
  if (s === 404) {
    return new DomainError(
      "unprocessable",
      "forge_repo_not_found",
      `${where}: repository not found, or the token cannot see it (404)`,
      { cause: e },
    );
  }
  if (s === undefined) {
    return new DomainError(
      "unavailable",
      "forge_unreachable",
      `${where} is unreachable: ${e.message}`,
      { cause: e },
    );
  }
  return new DomainError("unavailable", "forge_error", `${where} answered HTTP ${s}`, { cause: e });
}

/**
 * A forge failure only an operator can fix (token rejected, scope or rights
 * missing, repository moved), in words; undefined for anything else.
 */
export function credentialProblem(e: unknown, where: string): ConnectionProblem | undefined {
  if (!(e instanceof ForgeRequestError)) return undefined;
  if (e.moved) {
    return {
      code: "forge_repo_moved",
      message:
        `${where}: the repository moved to ${e.moved.owner}/${e.moved.repo} (renamed or transferred; the forge answered ${e.status}); disconnect and connect ${e.moved.owner}/${e.moved.repo}`,
    };
  }
  if (e.missingScope !== undefined) {
    return {
      code: "forge_token_cannot_write",
      message:
        `${where}: the token lacks the ${NEEDED_SCOPE} scope (the forge requires ${e.missingScope}); create a token with ${NEEDED_SCOPE} and reconnect`,
    };
  }
  if (e.status === 401) {
    return {
      code: "forge_token_rejected",
      message: `${where} rejected the token (401): check it is valid and not expired`,
    };
  }
  if (e.status === 403) {
    return {
      code: "forge_forbidden",
      message:
        `${where} refused access (403): the token's user needs write access to the repository`,
    };
  }
  return undefined;
}
