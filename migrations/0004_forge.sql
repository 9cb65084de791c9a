-- Forgejo/Gitea integration: repository connections, the deliveries they
-- received (for redelivery dedupe and the UI), the commit statuses posted
-- back, and the sealed secrets they use.

-- Every credential despacito must be able to use again (forge PATs, webhook
-- secrets) lives here and only here, sealed with the server key
-- (tweetnacl secretbox). One table so `despacito secrets rotate-key` can
-- re-seal all of them in one transaction without knowing who owns them.
create table sealed_secret (
  id uuid primary key default gen_random_uuid(),
  -- What it is, for operators reading the table: 'forge_token', 'webhook_secret'.
  purpose text not null,
  -- v1.<key id>.<base64(nonce || secretbox)>; the key id names the server key it needs.
  sealed text not null,
  -- The last four characters, so lists can show which credential is set.
  last4 text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table forge_connection (
  id uuid primary key,
  -- Base URL of the forge without a trailing slash (https://codeberg.org).
  forge_url text not null,
  forge_type text not null check (forge_type in ('forgejo', 'gitea')),
  owner text not null,
  repo text not null,
  -- One connection per package: commit statuses of a package's deployments
  -- go to exactly one repository.
  package text not null unique,
  trigger text not null check (trigger in ('release', 'tag')),
  -- The webhook despacito created on the forge; null when set up by hand.
  webhook_id bigint,
  token_secret_id uuid not null references sealed_secret (id),
  webhook_secret_id uuid not null references sealed_secret (id),
  -- After a rotation the previous secret stays valid until previous_valid_until.
  previous_secret_id uuid references sealed_secret (id),
  previous_valid_until timestamptz,
  created_by text not null,
  created_at timestamptz not null default now()
);

-- One row per delivery id: a redelivery answers what the first one answered.
create table forge_delivery (
  connection_id uuid not null references forge_connection (id) on delete cascade,
  delivery_id text not null,
  event text not null,
  received_at timestamptz not null default now(),
  -- Null while the first delivery is still being handled.
  http_status integer,
  response jsonb,
  -- One short word or phrase for the UI: queued, already_deployed, ignored: …
  outcome text,
  deployment_id uuid,
  primary key (connection_id, delivery_id)
);

create index forge_delivery_recent on forge_delivery (connection_id, received_at desc);

-- Every commit status despacito tried to post, with its outcome: posting is
-- best effort and never fails a deployment, so this is where failures show.
create table forge_status_post (
  id bigserial primary key,
  connection_id uuid not null references forge_connection (id) on delete cascade,
  deployment_id uuid not null,
  sha text not null,
  state text not null check (state in ('pending', 'success', 'failure', 'error')),
  description text not null,
  target_url text,
  attempts integer not null default 0,
  -- Null while still trying; then whether the forge accepted it.
  ok boolean,
  error text,
  http_status integer,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index forge_status_post_deployment on forge_status_post (deployment_id, id);
create index forge_status_post_recent on forge_status_post (connection_id, id desc);
