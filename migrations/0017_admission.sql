-- Admission and the audit trail in one round trip each (issue 14).
--
-- Both serialise on a lock: admissions of one package (so a newer request
-- supersedes a queued one it cannot otherwise see), audit rows on the chain's
-- head. Held across client round trips, such a lock made every waiter wait
-- for the holder's network and event loop as well; inside a function it is
-- held only while PostgreSQL runs the statements, and released at the
-- commit of the caller's single statement. Each statement of a plpgsql
-- function takes its own snapshot, so what runs after the lock sees every
-- admission committed before it was granted.

-- A timestamp as JavaScript's Date.prototype.toISOString writes it (what the API serves).
create function despacito_iso(t timestamptz) returns text
language sql stable as $$
  select to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- Queues a deployment (src/deploy/store.ts `enqueue`, which documents the
-- rules). One row answers a refused token, a hold, a full queue or a live
-- deployment; a new deployment answers its row, then each queued row it
-- superseded. The status entries carry the deployment's JSON as served:
-- `p_data` is the new row's (built by the caller; created_at is filled in
-- here), a superseded row's is its last status entry with what supersession
-- changed.
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
  p_data jsonb,
  p_token_id uuid,
  p_audit jsonb
) returns table (
  outcome text,
  held_by uuid,
  held_reason text,
  log_at timestamptz,
  deployment deployments
) language plpgsql as $$
declare
  found_row deployments;
  queued_n integer;
  mine_n integer;
begin
  -- The webhook's guard may have trusted a token it verified a moment ago (src/auth/
  -- token_cache.ts): the admission asks again, so a token revoked, expired or narrowed by
  -- then, by any instance or by hand, never queues anything.
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
  -- The live row of this version: first without the lock (a repeat needs none, a live row stays
  -- live for as long as a request could care), then again under it.
  for pass in 1..2 loop
    if pass = 2 then
      perform pg_advisory_xact_lock(hashtext('despacito.enqueue:' || p_package));
    end if;
    if p_kind = 'deploy' then
      select * into found_row from deployments
      where package = p_package and version = p_version and kind = 'deploy'
        and status in ('queued', 'running', 'deployed');
      if found then
        outcome := case when found_row.status = 'deployed' then 'already_deployed'
                        else 'in_progress' end;
        deployment := found_row;
        return next;
        return;
      end if;
    end if;
  end loop;

  -- The queue cap: a request that supersedes a queued one needs no new slot; one lock for
  -- every package makes the count exact under concurrent arrivals.
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
  returning * into deployment;
  insert into deployment_log (deployment_id, seq, stream, line)
  values (p_id, 1, 'system', p_queued_line)
  returning at into log_at;
  insert into deployment_log (deployment_id, seq, stream, line, data)
  values (p_id, 2, 'status', 'queued',
          p_data || jsonb_build_object('created_at', despacito_iso(deployment.created_at),
                                       'seq', 2));
  -- The request's audit row, in this transaction: a deployment is never queued unrecorded.
  if p_audit is not null then
    perform despacito_audit_append(
      (p_audit ->> 'at')::timestamptz, p_audit ->> 'actorKind', p_audit ->> 'actorId',
      p_audit ->> 'actorLabel', p_audit ->> 'action', p_audit ->> 'target',
      p_audit ->> 'requestId', p_audit ->> 'clientAddress', p_audit -> 'details',
      p_audit ->> 'rest');
  end if;
  outcome := 'queued';
  return next;

  -- Older queued versions of the package: superseded, each with its line and status entry.
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

-- Appends one audit row (src/ops/audit_store.ts `appendAudit`): the chain's hash is
-- SHA-256 of `prev_hash + "\n" + canonical(row)`, and canonical(row) is a JSON array
-- whose first element is the row's id; the caller passes the rest of it (`p_rest`,
-- starting after "[id,"), since only here, under the lock, is the id known.
create function despacito_audit_append(
  p_at timestamptz,
  p_actor_kind text,
  p_actor_id text,
  p_actor_label text,
  p_action text,
  p_target text,
  p_request_id text,
  p_client_address text,
  p_details jsonb,
  p_rest text
) returns table (row_id bigint, row_prev_hash text, row_hash text)
language plpgsql as $$
begin
  -- The lock every appender takes ("audit" in ASCII).
  perform pg_advisory_xact_lock(418581342580);
  select coalesce(h.last_id, 0) + 1, coalesce(h.hash, repeat('0', 64))
    into row_id, row_prev_hash
  from (select 1) one left join audit_head h on h.singleton;
  row_hash := encode(
    sha256(convert_to(row_prev_hash || E'\n[' || row_id || ',' || p_rest, 'UTF8')), 'hex');
  insert into audit_log (id, at, actor_kind, actor_id, actor_label, action, target,
                         request_id, client_address, details, prev_hash, hash)
  values (row_id, p_at, p_actor_kind, p_actor_id, p_actor_label, p_action, p_target,
          p_request_id, p_client_address, p_details, row_prev_hash, row_hash);
  insert into audit_head (singleton, last_id, hash) values (true, row_id, row_hash)
  on conflict (singleton) do update set last_id = excluded.last_id, hash = excluded.hash;
  return next;
end
$$;


-- Every admission writes every index of deployments twice (the new row, the row it
-- supersedes). These two ordered by created_at, which no query does any more (listing,
-- paging and "the last deployment of each package" order by arrival): one index by package
-- and arrival serves them instead.
drop index deployments_newest;
drop index deployments_package_newest;
create index deployments_package_arrival on deployments (package, arrival);
