-- A deployment's log lines without a foreign key: its per-row check (a key-share
-- lock on the deployment for every line) was two thirds of the cost of storing a
-- batch of colmena output (bench/README.md, the 20,000-line deployment). Every
-- statement that writes deployment_log takes the line's seq from an update of its
-- deployment in the same transaction (src/deploy/store.ts), so a line cannot point
-- at a missing deployment; deleting deployments still deletes their lines.
alter table deployment_log drop constraint deployment_log_deployment_id_fkey;

create function deployment_log_cascade() returns trigger language plpgsql as $$
begin
  delete from deployment_log where deployment_id in (select id from gone);
  return null;
end
$$;

create trigger deployments_delete_log after delete on deployments
  referencing old table as gone for each statement execute function deployment_log_cascade();
