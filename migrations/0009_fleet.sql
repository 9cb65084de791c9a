-- The fleet (README, "Drift"): what each node should run (the hive evaluated
-- at the flake's HEAD) against what it runs (/run/current-system), from
-- despacito's last check, and every check kept as history.

alter table node_state
  add column tags jsonb not null default '[]',
  add column expected_system text,
  add column running_system text,
  -- null: never checked; false: the check could not reach it.
  add column reachable boolean,
  -- null when unreachable or never checked.
  add column drift boolean,
  add column checked_at timestamptz;

create table node_check (
  id bigserial primary key,
  checked_at timestamptz not null,
  node text not null,
  tags jsonb not null default '[]',
  expected_system text,
  running_system text,
  reachable boolean not null,
  drift boolean,
  message text
);

create index node_check_node_newest on node_check (node, checked_at desc);
