-- The deploy pipeline's durable state: every requested deployment (the queue
-- is the set of `queued` rows, in arrival order), its log, and what each
-- package (flake input) currently runs. Idempotency and "one deployment at a
-- time" are enforced here by unique indexes, so they hold under concurrent
-- requests and across restarts, not only inside one process.

create table deployments (
  id uuid primary key,
  -- Arrival order; created_at alone can tie within one transaction timestamp.
  arrival bigserial not null unique,
  package text not null,
  version text not null,
  nix_store_path text,
  flake_ref text,
  status text not null check (
    status in ('queued', 'running', 'deployed', 'failed', 'superseded', 'cancelled', 'interrupted')
  ),
  trigger_kind text not null check (trigger_kind in ('token', 'session', 'forge')),
  trigger_id text,
  trigger_label text,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  -- [{name, started_at, finished_at, status}] in the order the steps ran.
  steps jsonb not null default '[]',
  -- HEAD of the flake repo when the deployment started (what a revert returns to).
  base_sha text,
  commit_sha text,
  revert_sha text,
  locked_rev text,
  previous_locked_rev text,
  -- [{node, status, message}] parsed from colmena's output.
  nodes jsonb not null default '[]',
  error text,
  -- 'failure': colmena failed; 'error': despacito could not run it (see README).
  failure_kind text check (failure_kind in ('failure', 'error')),
  exit_code integer,
  log_tail text[],
  superseded_by uuid references deployments (id),
  cancel_requested_at timestamptz,
  -- Last sequence number handed out for this deployment's log and status events.
  seq bigint not null default 0
);

-- Never the same version twice: one live-or-successful row per package+version.
-- Failed/cancelled/superseded/interrupted versions may be requested again.
create unique index deployments_package_version_once on deployments (package, version)
  where status in ('queued', 'running', 'deployed');

-- One deployment at a time: the flake repo is shared.
create unique index deployments_one_running on deployments ((true)) where status = 'running';

create index deployments_queue on deployments (arrival) where status = 'queued';
create index deployments_newest on deployments (created_at desc, id desc);
create index deployments_package_newest on deployments (package, created_at desc, id desc);

-- Log lines and status changes of one deployment share one gap-free sequence,
-- which is what SSE clients resume from (Last-Event-ID).
create table deployment_log (
  deployment_id uuid not null references deployments (id) on delete cascade,
  seq bigint not null,
  stream text not null check (stream in ('stdout', 'stderr', 'system', 'status')),
  line text not null,
  -- For stream 'status': the deployment as JSON at that moment.
  data jsonb,
  at timestamptz not null default clock_timestamp(),
  primary key (deployment_id, seq)
);

-- What each package runs now: the last successful deployment of it.
create table package_state (
  package text primary key,
  version text not null,
  nix_store_path text,
  locked_rev text,
  deployment_id uuid not null references deployments (id),
  deployed_at timestamptz not null
);
