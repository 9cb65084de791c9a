-- What a forge told despacito that only an operator can fix, shown beside the
-- connection (API and UI): the token was rejected or lacks the write:repository
-- scope, or the repository was renamed or transferred (the forge answers 307).
-- Set by a commit status post that failed so, cleared by the next one that succeeds.
alter table forge_connection
  add column problem_code text,
  add column problem_message text,
  add column problem_at timestamptz;

-- Releases deploy once per tag. Forgejo sends `published` only when a release
-- is created; promoting a pre-release or publishing a draft whose tag exists
-- arrives as `updated`, and so does every later edit of its notes or assets.
-- The first delivery that finds the release final claims its tag here; later
-- ones are ignored (an edit of an old release must never redeploy it).
create table forge_release_deployment (
  connection_id uuid not null references forge_connection (id) on delete cascade,
  tag text not null,
  deployment_id uuid not null,
  delivery_id text not null,
  created_at timestamptz not null default now(),
  primary key (connection_id, tag)
);

-- A delivery despacito could not act on yet (the flake dir unusable, the
-- forge not answering the tag lookup) keeps its signed payload and is tried
-- again until retry_until: Forgejo never retries a delivery by itself, and
-- its Replay needs an operator. Null once handled.
alter table forge_delivery
  add column pending_payload bytea,
  add column retry_until timestamptz;

create index forge_delivery_pending on forge_delivery (received_at)
  where pending_payload is not null;
