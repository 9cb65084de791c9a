-- The flake's remote (README, "The flake's remote"): whether the commits a
-- deployment made (its deploy commit, its revert) reached the remote.
-- null: no remote configured, or the deployment committed nothing;
-- false: they stay local until a later deployment pushes them first.
alter table deployments add column pushed boolean;

create index deployments_push_pending on deployments (created_at) where pushed = false;
