-- Operations (src/ops): the tamper-evident audit trail.
--
-- One row per state-changing action. Rows are hash-chained: `hash` is the
-- SHA-256 of the previous row's hash and this row's canonical content (see
-- src/ops/audit_chain.ts), so editing, deleting or reordering rows breaks the
-- chain at the first row touched. Writers append under an advisory lock, so
-- two concurrent writers can never both build on the same previous row.
create table audit_log (
  id bigint primary key,
  at timestamptz not null,
  -- token | user | forge | cli | system | anonymous
  actor_kind text not null,
  actor_id text,
  actor_label text,
  action text not null,
  target text,
  request_id text,
  client_address text,
  details jsonb not null default '{}'::jsonb,
  prev_hash char(64) not null,
  hash char(64) not null
);

create index audit_log_action on audit_log (action, id);
create index audit_log_at on audit_log (at);

-- The chain's head, written in the same transaction as every row: deleting
-- the newest rows (which leaves no later row to notice) still shows.
create table audit_head (
  singleton boolean primary key default true check (singleton),
  last_id bigint not null,
  hash char(64) not null
);

-- Outbound notifications (src/ops/notifier.ts): one row per deployment event
-- and target, made when the event happens, so a restart resumes delivery.
-- The unique key drops repeats of the same status (a step update re-sends a
-- running deployment's status). Every try is kept in notification_attempt.
create table notification (
  id uuid primary key,
  deployment_id uuid not null,
  target text not null,
  event text not null,
  -- Exactly what every attempt sends (the generic webhook's body).
  payload jsonb not null,
  state text not null check (state in ('pending', 'delivered', 'failed')),
  attempts integer not null default 0,
  -- While pending: when the next attempt is due (also a lease while one is sending).
  next_attempt_at timestamptz not null default now(),
  last_error text,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  unique (deployment_id, target, event)
);

create index notification_due on notification (next_attempt_at) where state = 'pending';

create table notification_attempt (
  notification_id uuid not null references notification (id) on delete cascade,
  attempt integer not null,
  at timestamptz not null,
  http_status integer,
  error text,
  duration_ms integer not null,
  primary key (notification_id, attempt)
);
