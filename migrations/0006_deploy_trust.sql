-- Deployments you can trust (README, "Deployments"): what each node runs,
-- explicit rollbacks and retries, post-activation checks, the fleet
-- rollback's own record, and packages held after a rollback that failed.

alter table deployments
  -- 'rollback': an operator asked to go back to an earlier deployment's locked revision.
  add column kind text not null default 'deploy' check (kind in ('deploy', 'rollback')),
  add column rollback_to uuid references deployments (id),
  add column retry_of uuid references deployments (id),
  -- [{name, kind, target, attempts, result, duration_ms, message, nodes?}] in the order run.
  add column checks jsonb not null default '[]',
  -- {status: ok|failed|skipped, nodes: [{node,status,message}], commit_sha} or null.
  add column rollback jsonb,
  -- The colmena --on selector the activation used (null: every node).
  add column targets text,
  -- A short machine-readable reason for a failure (e.g. version_mismatch, check_failed).
  add column failure_code text;

-- Never the same version twice, for ordinary requests: an explicit rollback
-- re-deploys a version that was deployed before, on purpose.
drop index deployments_package_version_once;
create unique index deployments_package_version_once on deployments (package, version)
  where status in ('queued', 'running', 'deployed') and kind = 'deploy';

create index deployments_package_rev on deployments (package, locked_rev) where status = 'deployed';

-- What each node runs, as far as despacito knows: the flake commit it last
-- activated (or was rolled back to), and therefore every package's version.
create table node_state (
  node text primary key,
  commit_sha text,
  deployment_id uuid references deployments (id),
  activated_at timestamptz,
  -- activated | rolled_back | failed | rollback_failed
  outcome text not null,
  -- {"<package>": "<version>"} at commit_sha.
  packages jsonb not null default '{}',
  updated_at timestamptz not null default now()
);

-- A package whose fleet rollback failed: nothing more is deployed for it until released.
create table package_hold (
  package text primary key,
  deployment_id uuid not null references deployments (id),
  reason text not null,
  held_at timestamptz not null default now()
);
