-- Forge connections may state where the deployment flake fetches the
-- repository from when that is not the forge itself (a mirror, an SSH alias
-- host, a local clone): the connect-time check, deliveries and commit
-- statuses then match the package's flake source against this location
-- instead of the forge's own URLs. Null: the forge's URLs (the usual case).
alter table forge_connection add column source_url text;
