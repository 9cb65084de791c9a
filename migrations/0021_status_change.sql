-- A deployment's JSON as served (src/deploy/deployment.ts `deploymentJson`), built
-- inside PostgreSQL, so that a status change writes its row and its status log entry
-- in one statement (src/deploy/store.ts `changeDeployment`, `claimNext`): the entry's
-- data no longer waits for the updated row to travel to despacito and back (issue 14).
-- Keep it field for field in step with deploymentJson; tests/deploy_statements_test.ts
-- compares the two for every kind of change.
-- plpgsql, not sql: a sql function with a sub-select is not inlined and its body is
-- planned again in every statement that calls it (0.3-0.45 ms of PostgreSQL time a call,
-- measured); plpgsql keeps the plan for the session.
create function despacito_deployment_json(d deployments) returns jsonb
language plpgsql stable as $$
begin
  return jsonb_build_object(
    'id', d.id,
    'package', d.package,
    'version', d.version,
    'nix_store_path', d.nix_store_path,
    'flake_ref', d.flake_ref,
    'status', d.status,
    'triggered_by', jsonb_build_object('kind', d.trigger_kind, 'id', d.trigger_id,
                                       'label', d.trigger_label),
    'created_at', despacito_iso(d.created_at),
    'started_at', despacito_iso(d.started_at),
    'finished_at', despacito_iso(d.finished_at),
    'steps', d.steps,
    'commit_sha', d.commit_sha,
    'revert_sha', d.revert_sha,
    'locked_rev', d.locked_rev,
    'previous_locked_rev', d.previous_locked_rev,
    'nodes', d.nodes,
    'error', d.error,
    'failure_kind', d.failure_kind,
    'exit_code', d.exit_code,
    'log_tail', to_jsonb(d.log_tail),
    'superseded_by', d.superseded_by,
    'cancel_requested', d.cancel_requested_at is not null,
    'kind', d.kind,
    'rollback_to', d.rollback_to,
    'retry_of', d.retry_of,
    'targets', d.targets,
    'checks', d.checks,
    'rollback', d.rollback,
    'failure_code', d.failure_code,
    'pushed', d.pushed,
    -- The stage a running deployment waits after for POST …/promote, or null.
    'awaiting_promotion', case when d.status = 'running' then (
      select s ->> 'stage' from jsonb_array_elements(d.steps) with ordinality as t(s, n)
      where s ->> 'name' = 'promotion' and s ->> 'status' = 'running'
      order by n desc limit 1) end,
    'seq', d.seq);
end
$$;
