/** How the operator commands print deployments (human form; --json prints the server's JSON). */

import { facts, since, table } from "./run.ts";

export interface Deployment {
  id: string;
  package: string;
  version: string;
  status: string;
  nix_store_path?: string | null;
  flake_ref?: string | null;
  triggered_by?: { kind: string; label: string } | null;
  created_at?: string | null;
  started_at?: string | null;
  finished_at?: string | null;
  commit_sha?: string | null;
  error?: string | null;
  steps?: { name: string; status: string; duration_ms: number | null }[];
  nodes?: { node?: string; name?: string; status?: string; outcome?: string }[];
  superseded_by?: string | null;
}

export function deploymentTable(list: Deployment[]): string {
  return table(
    ["ID", "PACKAGE", "VERSION", "STATUS", "CREATED"],
    list.map((d) => [d.id, d.package, d.version, d.status, since(d.created_at)]),
  );
}

export function deploymentFacts(d: Deployment): string {
  const steps = (d.steps ?? []).map((s) =>
    `${s.name} ${s.status}${
      s.duration_ms === null ? "" : ` ${Math.round(s.duration_ms / 100) / 10}s`
    }`
  ).join(", ");
  const nodes = (d.nodes ?? []).map((n) =>
    `${n.node ?? n.name ?? "?"} ${n.status ?? n.outcome ?? ""}`.trim()
  )
    .join(", ");
  return facts([
    ["id", d.id],
    ["package", d.package],
    ["version", d.version],
    ["status", d.status],
    ["store path", d.nix_store_path],
    ["flake ref", d.flake_ref],
    ["triggered by", d.triggered_by ? `${d.triggered_by.kind} ${d.triggered_by.label}` : null],
    ["created", since(d.created_at)],
    ["started", since(d.started_at)],
    ["finished", since(d.finished_at)],
    ["commit", d.commit_sha],
    ["steps", steps || null],
    ["nodes", nodes || null],
    ["superseded by", d.superseded_by],
    ["error", d.error],
  ]);
}

/** The exit code a finished deployment means: 0 only when deployed. */
export function outcomeExit(status: string): number {
  return status === "deployed" ? 0 : 1;
}
