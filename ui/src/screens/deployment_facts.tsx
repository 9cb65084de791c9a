/**
 * The facts of one deployment: request, step timings, per-node outcome,
 * checks and the fleet rollback. Pure rendering.
 */

import { Badge, clock, Link, Short, Table, Time } from "../components.tsx";
import { durationBetween, formatDuration } from "../time.ts";
import { readableUrl } from "../url.ts";
import type { Deployment, NodeOutcome, Step } from "../types.ts";

/** `now`: the moment the running clock stops at (the page lost despacito); the clock otherwise. */
export function Request({ d, now }: { d: Deployment; now?: number }) {
  const t = d.triggered_by;
  return (
    <dl class="facts">
      <dt>Triggered by</dt>
      <dd>{t ? `${t.label} (${t.kind === "forge" ? "forge webhook" : t.kind})` : "—"}</dd>
      <dt>Kind</dt>
      <dd>
        {d.kind === "rollback" ? "rollback" : "deployment"}
        {d.rollback_to && (
          <>
            {" to "}
            <Link href={`/deployments/${d.rollback_to}`}>the earlier deployment</Link>
          </>
        )}
        {d.retry_of && (
          <>
            {", retry of "}
            <Link href={`/deployments/${d.retry_of}`}>the earlier attempt</Link>
          </>
        )}
      </dd>
      {d.targets && (
        <>
          <dt>Targets</dt>
          <dd>
            <code>{d.targets}</code>
          </dd>
        </>
      )}
      <dt>Requested</dt>
      <dd>
        <Time at={d.created_at} full />
      </dd>
      {d.started_at && (
        <>
          <dt>Started</dt>
          <dd>
            <Time at={d.started_at} full />
          </dd>
        </>
      )}
      {d.finished_at && (
        <>
          <dt>Finished</dt>
          <dd>
            <Time at={d.finished_at} full />
          </dd>
        </>
      )}
      {d.started_at && (
        <>
          <dt>Took</dt>
          <dd>
            {formatDuration(durationBetween(d.started_at, d.finished_at, now ?? clock.value))}
            {!d.finished_at && <span class="muted aside">so far</span>}
          </dd>
        </>
      )}
      <dt>Store path</dt>
      <dd>
        {d.nix_store_path
          ? <Short value={d.nix_store_path} what="store path" />
          : <span class="muted">none (the flake builds it)</span>}
      </dd>
      <dt>Flake ref</dt>
      <dd>
        {d.flake_ref
          ? <code class="wrap" title={d.flake_ref}>{readableUrl(d.flake_ref)}</code>
          : <span class="muted">—</span>}
      </dd>
      <dt>Deploy commit</dt>
      <dd>
        <Short value={d.commit_sha} what="deploy commit" />
      </dd>
      {d.revert_sha && (
        <>
          <dt>Reverted by</dt>
          <dd>
            <Short value={d.revert_sha} what="revert commit" />
          </dd>
        </>
      )}
      {d.pushed != null && (
        <>
          <dt>Flake remote</dt>
          <dd data-testid="pushed">
            {d.pushed ? "pushed" : "not pushed yet (the next deployment pushes it)"}
          </dd>
        </>
      )}
      <dt>Locked rev</dt>
      <dd>
        <Short value={d.locked_rev} what="locked rev" />
        {d.previous_locked_rev && (
          <span class="muted aside">
            (was <Short value={d.previous_locked_rev} what="previous locked rev" />)
          </span>
        )}
      </dd>
      {d.exit_code !== null && (
        <>
          <dt>Exit code</dt>
          <dd>{d.exit_code}</dd>
        </>
      )}
      {d.superseded_by && (
        <>
          <dt>Superseded by</dt>
          <dd>
            <Link href={`/deployments/${d.superseded_by}`}>the newer deployment</Link>
          </dd>
        </>
      )}
    </dl>
  );
}

export function Steps({ d }: { d: Deployment }) {
  const steps = d.steps ?? [];
  if (steps.length === 0) return null;
  return (
    <section aria-labelledby="steps-title">
      <h2 id="steps-title">Steps</h2>
      <Table columns={["Step", "Status", "Started", "Took"]}>
        {steps.map((s, i) => (
          <tr key={i}>
            <th scope="row">
              {s.name}
              {s.stage && <span class="muted aside">{s.stage}</span>}
            </th>
            <td data-label="Status">
              <Badge status={shownStatus(d, s)} />
            </td>
            <td data-label="Started">
              <Time at={s.started_at} />
            </td>
            <td data-label="Took">
              {formatDuration(
                s.duration_ms ?? durationBetween(s.started_at, s.finished_at, clock.value),
              )}
            </td>
          </tr>
        ))}
      </Table>
    </section>
  );
}

/**
 * A step a cancel or a shutdown stopped did not fail: the server marks the
 * step that was running "failed" when it is stopped, but for the operator it
 * was cancelled (or interrupted), not a red failure. Restore and rollback
 * failures stay failures.
 */
function shownStatus(d: Deployment, s: Step): string {
  const stopped = d.status === "cancelled" || d.status === "interrupted";
  return stopped && s.status === "failed" && s.name !== "restore" && s.name !== "rollback"
    ? d.status
    : s.status;
}

export function Nodes({ d }: { d: Deployment }) {
  return (
    <section aria-labelledby="nodes-title">
      <h2 id="nodes-title">Nodes</h2>
      <NodeList nodes={d.nodes ?? []} />
    </section>
  );
}

export function NodeList({ nodes }: { nodes: NodeOutcome[] }) {
  return (
    <ul class="nodes">
      {nodes.map((n) => (
        <li key={n.node}>
          <Badge status={n.status} /> <strong>{n.node}</strong>
          {n.message && <span class="muted">{n.message}</span>}
        </li>
      ))}
    </ul>
  );
}

/** The checks run after activation: each with its target, attempts, result and time. */
export function Checks({ d }: { d: Deployment }) {
  const checks = d.checks ?? [];
  if (checks.length === 0) return null;
  return (
    <section aria-labelledby="checks-title">
      <h2 id="checks-title">Checks</h2>
      <Table columns={["Check", "Result", "Target", "Attempts", "Took"]}>
        {checks.map((c, i) => (
          <tr key={i}>
            <th scope="row">{c.name}</th>
            <td data-label="Result">
              <Badge status={c.result} />
              {c.message && <div class="muted small-text">{c.message}</div>}
              {c.nodes?.map((n) => (
                <div key={n.node} class="small-text">
                  {n.node}: {n.result}
                  {n.message ? ` (${n.message})` : ""}
                </div>
              ))}
            </td>
            <td data-label="Target">
              <code class="wrap">{c.kind}: {c.target}</code>
            </td>
            <td data-label="Attempts">{c.attempts}</td>
            <td data-label="Took">{formatDuration(c.duration_ms)}</td>
          </tr>
        ))}
      </Table>
    </section>
  );
}

/** After a failure: the nodes re-activated at the restored lock, and how each went. */
export function Rollback({ d }: { d: Deployment }) {
  const r = d.rollback;
  if (!r) return null;
  return (
    <section aria-labelledby="rollback-title">
      <div class="title-row">
        <h2 id="rollback-title">Fleet rollback</h2>
        <Badge status={r.status} />
      </div>
      {r.message && <p class="error">{r.message}</p>}
      <dl class="facts">
        <dt>Re-activated at</dt>
        <dd>
          <Short value={r.commit_sha} what="rollback commit" />
        </dd>
      </dl>
      {r.nodes.length > 0 ? <NodeList nodes={r.nodes} /> : <p class="muted">No node reported.</p>}
    </section>
  );
}
