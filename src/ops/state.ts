/**
 * State export: what an operator configured through the API, UI and CLI —
 * local and OIDC users, token metadata, repository connections — as one
 * YAML document without a single secret (no token, no password hash, no
 * forge token, no webhook secret). Deterministic (fixed key order, rows by
 * creation then id), so export → import → export gives the same text. It
 * reads the owning areas' tables with explicit columns, as a backup tool
 * reads a schema; state_import.ts writes them back. README, "State export".
 */

import type { Sql } from "../db/connect.ts";

export const STATE_VERSION = 1;

export interface UserState {
  id: string;
  issuer: string;
  subject: string;
  username: string | null;
  email: string | null;
  display_name: string | null;
  created_at: string;
  disabled_at: string | null;
}

export interface TokenState {
  id: string;
  description: string;
  packages: string[] | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface RepositoryState {
  id: string;
  forge_url: string;
  forge_type: "forgejo" | "gitea";
  owner: string;
  repo: string;
  package: string;
  trigger: "release" | "tag";
  source_url: string | null;
  webhook_id: number | null;
  created_by: string;
  created_at: string;
}

export interface State {
  despacito_state: number;
  users: UserState[];
  tokens: TokenState[];
  repositories: RepositoryState[];
  /** Packages held after a failed rollback or by on_failure: hold (see HoldState). */
  holds: HoldState[];
}

/**
 * A held package, exported so the operator sees it; it names a deployment,
 * which is run-time data the export does not carry, so import refuses it.
 */
export interface HoldState {
  package: string;
  deployment_id: string;
  reason: string;
  held_at: string;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export async function exportState(sql: Sql): Promise<State> {
  const users = await sql<
    {
      id: string;
      issuer: string;
      subject: string;
      username: string | null;
      email: string | null;
      displayName: string | null;
      createdAt: Date;
      disabledAt: Date | null;
    }[]
  >`select id, issuer, subject, username, email, display_name, created_at, disabled_at
    from users order by created_at, id`;
  const tokens = await sql<
    {
      id: string;
      description: string;
      packages: string[] | null;
      createdAt: Date;
      expiresAt: Date | null;
      revokedAt: Date | null;
    }[]
  >`select id, description, packages, created_at, expires_at, revoked_at
    from auth_token order by created_at, id`;
  const repos = await sql<
    (
      & Omit<
        RepositoryState,
        "created_at" | "webhook_id" | "forge_url" | "forge_type" | "source_url" | "created_by"
      >
      & {
        forgeUrl: string;
        forgeType: "forgejo" | "gitea";
        sourceUrl: string | null;
        webhookId: string | null;
        createdBy: string;
        createdAt: Date;
      }
    )[]
  >`select id, forge_url, forge_type, owner, repo, package, trigger, source_url, webhook_id,
      created_by, created_at
    from forge_connection order by created_at, id`;
  const holds = await sql<
    { package: string; deploymentId: string; reason: string; heldAt: Date }[]
  >`select package, deployment_id, reason, held_at from package_hold order by held_at, package`;
  return {
    despacito_state: STATE_VERSION,
    users: users.map((u) => ({
      id: u.id,
      issuer: u.issuer,
      subject: u.subject,
      username: u.username,
      email: u.email,
      display_name: u.displayName,
      created_at: u.createdAt.toISOString(),
      disabled_at: iso(u.disabledAt),
    })),
    tokens: tokens.map((t) => ({
      id: t.id,
      description: t.description,
      packages: t.packages,
      created_at: t.createdAt.toISOString(),
      expires_at: iso(t.expiresAt),
      revoked_at: iso(t.revokedAt),
    })),
    repositories: repos.map((r) => ({
      id: r.id,
      forge_url: r.forgeUrl,
      forge_type: r.forgeType,
      owner: r.owner,
      repo: r.repo,
      package: r.package,
      trigger: r.trigger,
      source_url: r.sourceUrl,
      webhook_id: r.webhookId === null ? null : Number(r.webhookId),
      created_by: r.createdBy,
      created_at: r.createdAt.toISOString(),
    })),
    holds: holds.map((h) => ({
      package: h.package,
      deployment_id: h.deploymentId,
      reason: h.reason,
      held_at: h.heldAt.toISOString(),
    })),
  };
}

/** The YAML printer is loaded here: a server loads it on its first export, not at start. */
export async function stateYaml(s: State): Promise<string> {
  const { stringify } = await import("yaml");
  return "# despacito state export: configuration made through the API, UI and CLI.\n" +
    "# No secrets: tokens, passwords, forge tokens and webhook secrets are supplied at import.\n" +
    stringify(s, { lineWidth: 0 });
}
