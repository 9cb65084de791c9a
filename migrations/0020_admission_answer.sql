-- despacito_enqueue() (migration 0017) answering only what its caller does
-- not know already, and parsing JSON only when it writes it (issue 14, P1 and
-- the duplicate 409: CPU per admission, on both sides of the connection).
--
-- * The audit row (`p_audit`) arrives as text and becomes jsonb only when a
--   deployment is queued: a repeat, a hold or a full queue parses no JSON.
-- * A repeat answers the live deployment's id, package, version, kind and
--   status, not its whole row (steps, nodes, checks as JSON the client would
--   parse only to drop); the new row answers what the database chose
--   (arrival, created_at), as the caller built the rest (src/deploy/store.ts
--   `queuedRow`). A superseded row is answered whole: its status event
--   carries it.
-- * The new row's status entry is built by the function itself, not taken
--   from the caller: every admission, a repeat too, had its caller build the
--   queued row's JSON (~1 KB) that only a queued row uses. It is the request's
--   own fields and the defaults, in the shape src/deploy/deployment.ts
--   `deploymentJson` serves (tests/perf_journal_test.ts compares the two).
-- The rules are those of migration 0017, unchanged.
drop function despacito_enqueue(
  uuid, text, text, text, text, text, text, text, text, uuid, uuid, integer, text, text, text,
  jsonb, uuid, jsonb);

create function despacito_enqueue(
  p_id uuid,
  p_package text,
  p_version text,
  p_nix_store_path text,
  p_flake_ref text,
  p_trigger_kind text,
  p_trigger_id text,
  p_trigger_label text,
  p_kind text,
  p_rollback_to uuid,
  p_retry_of uuid,
  p_queue_limit integer,
  p_queued_line text,
  p_superseded_line text,
  p_superseded_error text,
  p_token_id uuid,
  p_audit text
) returns table (
  outcome text,
  held_by uuid,
  held_reason text,
  log_at timestamptz,
  deployment deployments
) language plpgsql as $$
declare
  found_row deployments;
  new_row deployments;
  queued_n integer;
  mine_n integer;
  audit jsonb;
begin
  if p_token_id is not null then
    perform 1 from auth_token t
    where t.id = p_token_id and t.revoked_at is null
      and (t.expires_at is null or t.expires_at > now());
    if not found then
      outcome := 'token_refused';
      return next;
      return;
    end if;
    perform 1 from auth_token t
    where t.id = p_token_id and (t.packages is null or p_package = any (t.packages));
    if not found then
      outcome := 'package_not_allowed';
      return next;
      return;
    end if;
  end if;
  select h.deployment_id, h.reason into held_by, held_reason
  from package_hold h where h.package = p_package;
  if found then
    outcome := 'held';
    return next;
    return;
  end if;
  for pass in 1..2 loop
    if pass = 2 then
      perform pg_advisory_xact_lock(hashtext('despacito.enqueue:' || p_package));
    end if;
    if p_kind = 'deploy' then
      select d.id, d.package, d.version, d.kind, d.status
        into deployment.id, deployment.package, deployment.version, deployment.kind,
             deployment.status
      from deployments d
      where d.package = p_package and d.version = p_version and d.kind = 'deploy'
        and d.status in ('queued', 'running', 'deployed');
      if found then
        outcome := case when deployment.status = 'deployed' then 'already_deployed'
                        else 'in_progress' end;
        return next;
        return;
      end if;
    end if;
  end loop;

  if p_queue_limit is not null then
    perform pg_advisory_xact_lock(hashtext('despacito.enqueue.cap'));
    select count(*)::int, (count(*) filter (where package = p_package))::int
      into queued_n, mine_n
    from deployments where status = 'queued';
    if mine_n = 0 and queued_n >= p_queue_limit then
      outcome := 'queue_full';
      return next;
      return;
    end if;
  end if;

  -- seq 1: the "queued" line, seq 2: the queued status.
  insert into deployments (id, package, version, nix_store_path, flake_ref, status,
                           trigger_kind, trigger_id, trigger_label, steps, kind,
                           rollback_to, retry_of, seq)
  values (p_id, p_package, p_version, p_nix_store_path, p_flake_ref, 'queued',
          p_trigger_kind, p_trigger_id, p_trigger_label, '[]', p_kind,
          p_rollback_to, p_retry_of, 2)
  returning * into new_row;
  deployment.id := new_row.id;
  deployment.arrival := new_row.arrival;
  deployment.created_at := new_row.created_at;
  deployment.seq := new_row.seq;
  insert into deployment_log (deployment_id, seq, stream, line)
  values (p_id, 1, 'system', p_queued_line)
  returning at into log_at;
  -- The served JSON of the new row (its seq is 2): despacito_deployment_json() of migration
  -- 0021, which this plpgsql body resolves when it runs, after every migration applied.
  insert into deployment_log (deployment_id, seq, stream, line, data)
  values (p_id, 2, 'status', 'queued', despacito_deployment_json(new_row));
  if p_audit is not null then
    audit := p_audit::jsonb;
    perform despacito_audit_append(
      (audit ->> 'at')::timestamptz, audit ->> 'actorKind', audit ->> 'actorId',
      audit ->> 'actorLabel', audit ->> 'action', audit ->> 'target',
      audit ->> 'requestId', audit ->> 'clientAddress', audit -> 'details',
      audit ->> 'rest');
  end if;
  outcome := 'queued';
  return next;

  outcome := 'superseded';
  for found_row in
    update deployments set status = 'superseded', superseded_by = p_id,
      finished_at = now(), seq = seq + 2, error = p_superseded_error
    where package = p_package and status = 'queued' and id <> p_id
    returning *
  loop
    insert into deployment_log (deployment_id, seq, stream, line)
    values (found_row.id, found_row.seq - 1, 'system', p_superseded_line)
    returning at into log_at;
    insert into deployment_log (deployment_id, seq, stream, line, data)
    values (found_row.id, found_row.seq, 'status', 'superseded',
            coalesce((select l.data from deployment_log l
                      where l.deployment_id = found_row.id and l.stream = 'status'
                      order by l.seq desc limit 1), '{}'::jsonb)
            || jsonb_build_object(
              'status', 'superseded',
              'finished_at', despacito_iso(found_row.finished_at),
              'superseded_by', p_id,
              'error', p_superseded_error,
              'seq', found_row.seq));
    deployment := found_row;
    return next;
  end loop;
end
$$;
