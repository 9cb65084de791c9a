/**
 * State import: recreates an exported state (state.ts) in an empty
 * database, in one transaction. The secrets an export leaves out come from
 * files: each repository's forge token and webhook secret (required), each
 * local user's password (optional: without it the account exists but
 * cannot sign in until `despacito user passwd`). Tokens cannot be restored
 * (only their hashes were stored): each gets a new secret with the same id
 * and metadata, handed back once to be redistributed. Every problem with
 * the file or the secrets is reported at once, before anything is written.
 */

import { parse } from "yaml";
import { type FieldProblem, invalidRequest } from "../core/errors.ts";
import { DomainError } from "../core/errors.ts";
import type { Sql } from "../db/connect.ts";
import type { Sealer } from "../secrets/box.ts";
import { putSecret } from "../secrets/store.ts";
import { sha256Hex } from "./hash.ts";
import type { RepositoryState, State, TokenState, UserState } from "./state.ts";
import { STATE_VERSION } from "./state.ts";

export interface ImportDeps {
  sql: Sql;
  sealer: Sealer;
  hashPassword(password: string): Promise<string>;
  /** Reads one secret file by name, or undefined when it does not exist. */
  readSecret(name: string): Promise<string | undefined>;
}

export interface ImportResult {
  users: number;
  repositories: number;
  /** New secrets for the imported tokens that are still usable; shown once. */
  tokens: { id: string; description: string; token: string | null }[];
  /** Local users imported without a password file. */
  withoutPassword: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The secret file names an import of `s` reads. */
export const secretFiles = {
  forgeToken: (r: Pick<RepositoryState, "package">) => `repository-${r.package}.token`,
  webhookSecret: (r: Pick<RepositoryState, "package">) => `repository-${r.package}.webhook-secret`,
  password: (u: Pick<UserState, "username">) => `user-${u.username}.password`,
};

export function parseState(text: string): State {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new DomainError("invalid", "invalid_state", `not YAML: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const problems: FieldProblem[] = [];
  const o = (doc ?? {}) as Record<string, unknown>;
  if (o.despacito_state !== STATE_VERSION) {
    problems.push({ field: "despacito_state", message: `must be ${STATE_VERSION}` });
  }
  const list = (key: string) => {
    const v = o[key] ?? [];
    if (!Array.isArray(v)) problems.push({ field: key, message: "must be a list" });
    return Array.isArray(v) ? v as Record<string, unknown>[] : [];
  };
  const check = (
    where: string,
    row: Record<string, unknown>,
    spec: Record<string, "uuid" | "string" | "string?" | "time" | "time?" | "list?" | "int?">,
  ) => {
    for (const [k, kind] of Object.entries(spec)) {
      const v = row?.[k];
      const field = `${where}.${k}`;
      const optional = kind.endsWith("?") && v === null;
      if (optional) continue;
      const base = kind.replace("?", "");
      const ok = base === "uuid"
        ? typeof v === "string" && UUID.test(v)
        : base === "time"
        ? typeof v === "string" && !Number.isNaN(Date.parse(v))
        : base === "list"
        ? Array.isArray(v) && v.every((x) => typeof x === "string")
        : base === "int"
        ? Number.isInteger(v)
        : typeof v === "string" && v !== "";
      if (!ok) {
        problems.push({
          field,
          message: `must be ${kind.endsWith("?") ? "null or " : ""}a ${base}`,
        });
      }
    }
  };
  const users = list("users");
  users.forEach((u, i) =>
    check(`users[${i}]`, u, {
      id: "uuid",
      issuer: "string",
      subject: "string",
      username: "string?",
      email: "string?",
      display_name: "string?",
      created_at: "time",
      disabled_at: "time?",
    })
  );
  const tokens = list("tokens");
  tokens.forEach((t, i) =>
    check(`tokens[${i}]`, t, {
      id: "uuid",
      description: "string",
      packages: "list?",
      created_at: "time",
      expires_at: "time?",
      revoked_at: "time?",
    })
  );
  const repositories = list("repositories");
  repositories.forEach((r, i) => {
    check(`repositories[${i}]`, r, {
      id: "uuid",
      forge_url: "string",
      forge_type: "string",
      owner: "string",
      repo: "string",
      package: "string",
      trigger: "string",
      source_url: "string?",
      webhook_id: "int?",
      created_by: "string",
      created_at: "time",
    });
    if (!["forgejo", "gitea"].includes(r.forge_type as string)) {
      problems.push({
        field: `repositories[${i}].forge_type`,
        message: "must be forgejo or gitea",
      });
    }
    if (!["release", "tag"].includes(r.trigger as string)) {
      problems.push({ field: `repositories[${i}].trigger`, message: "must be release or tag" });
    }
  });
  const holds = list("holds");
  // A hold names the deployment that made it, and deployments are not exported: refusing is
  // better than silently dropping a hold someone relied on to stop deploys.
  holds.forEach((h, i) =>
    problems.push({
      field: `holds[${i}]`,
      message: `${
        typeof h.package === "string" ? h.package : "a package"
      } is held; a hold cannot be imported (its deployment is not in the export): put the fleet right and release it before exporting, or delete the entry`,
    })
  );
  if (problems.length > 0) {
    throw invalidRequest(problems, `the state file has ${problems.length} problem(s)`);
  }
  return {
    despacito_state: STATE_VERSION,
    users: users as unknown as UserState[],
    tokens: tokens as unknown as TokenState[],
    repositories: repositories as unknown as RepositoryState[],
    holds: [],
  };
}

export async function importState(deps: ImportDeps, s: State): Promise<ImportResult> {
  const { sql } = deps;
  const [present] = await sql<{ users: number; tokens: number; repos: number }[]>`
    select (select count(*)::int from users) as users,
      (select count(*)::int from auth_token) as tokens,
      (select count(*)::int from forge_connection) as repos`;
  if (present.users + present.tokens + present.repos > 0) {
    throw new DomainError(
      "conflict",
      "database_not_empty",
      `import needs an empty database; this one has ${present.users} user(s), ${present.tokens} token(s), ${present.repos} repository connection(s)`,
    );
  }
  // Every secret first: nothing is written while one is missing.
  const problems: FieldProblem[] = [];
  const repoSecrets = new Map<string, { token: string; webhook: string }>();
  for (const r of s.repositories) {
    const token = await deps.readSecret(secretFiles.forgeToken(r));
    const webhook = await deps.readSecret(secretFiles.webhookSecret(r));
    if (!token) problems.push({ field: secretFiles.forgeToken(r), message: "missing or empty" });
    if (!webhook) {
      problems.push({ field: secretFiles.webhookSecret(r), message: "missing or empty" });
    }
    if (token && webhook) repoSecrets.set(r.id, { token, webhook });
  }
  if (problems.length > 0) {
    throw invalidRequest(problems, `${problems.length} secret file(s) missing`);
  }
  const passwords = new Map<string, string>();
  const withoutPassword: string[] = [];
  for (const u of s.users) {
    if (u.issuer !== "local" || !u.username) continue;
    const pw = await deps.readSecret(secretFiles.password(u));
    if (pw) passwords.set(u.id, await deps.hashPassword(pw));
    else withoutPassword.push(u.username);
  }
  const now = Date.now();
  const tokens: ImportResult["tokens"] = [];
  await sql.begin(async (tx) => {
    for (const u of s.users) {
      await tx`
        insert into users (id, issuer, subject, username, email, display_name, created_at,
          disabled_at, password_hash)
        values (${u.id}, ${u.issuer}, ${u.subject}, ${u.username}, ${u.email}, ${u.display_name},
          ${u.created_at}, ${u.disabled_at}, ${passwords.get(u.id) ?? null})`;
    }
    for (const t of s.tokens) {
      const token = randomHex(32);
      const usable = t.revoked_at === null &&
        (t.expires_at === null || Date.parse(t.expires_at) > now);
      await tx`
        insert into auth_token (id, token_sha256, description, packages, created_at, expires_at,
          revoked_at)
        values (${t.id}, ${await sha256Hex(
        token,
      )}, ${t.description}, ${t.packages}, ${t.created_at},
          ${t.expires_at}, ${t.revoked_at})`;
      tokens.push({ id: t.id, description: t.description, token: usable ? token : null });
    }
    for (const r of s.repositories) {
      const secrets = repoSecrets.get(r.id)!;
      const tokenId = await putSecret(tx, deps.sealer, "forge_token", secrets.token);
      const webhookId = await putSecret(tx, deps.sealer, "webhook_secret", secrets.webhook);
      await tx`
        insert into forge_connection (id, forge_url, forge_type, owner, repo, package, trigger,
          source_url, webhook_id, token_secret_id, webhook_secret_id, created_by, created_at)
        values (${r.id}, ${r.forge_url}, ${r.forge_type}, ${r.owner}, ${r.repo}, ${r.package},
          ${r.trigger}, ${r.source_url}, ${r.webhook_id}, ${tokenId}, ${webhookId},
          ${r.created_by}, ${r.created_at})`;
    }
  });
  return { users: s.users.length, repositories: s.repositories.length, tokens, withoutPassword };
}

function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}
