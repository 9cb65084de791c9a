/** The facts of one deployment: request, step timings, per-node outcome. Pure rendering. */

import { Badge, clock, Link, Short, Table, Time } from "../components.tsx";
import { durationBetween, formatDuration } from "../time.ts";
import type { Deployment } from "../types.ts";

export function Request({ d }: { d: Deployment }) {
  const t = d.triggered_by;
  return (
    <dl class="facts">
      <dt>Triggered by</dt>
      <dd>{t ? `${t.label} (${t.kind === "forge" ? "forge webhook" : t.kind})` : "—"}</dd>
      <dt>Requested</dt>
      <dd>
        <Time at={d.created_at} />
      </dd>
      <dt>Store path</dt>
      <dd>
        {d.nix_store_path
          ? <Short value={d.nix_store_path} />
          : <span class="muted">none (the flake builds it)</span>}
      </dd>
      <dt>Flake ref</dt>
      <dd>
        {d.flake_ref ? <code class="wrap">{d.flake_ref}</code> : <span class="muted">—</span>}
      </dd>
      <dt>Deploy commit</dt>
      <dd>
        <Short value={d.commit_sha} />
      </dd>
      {d.revert_sha && (
        <>
          <dt>Reverted by</dt>
          <dd>
            <Short value={d.revert_sha} />
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
        <Short value={d.locked_rev} />
        {d.previous_locked_rev && (
          <span class="muted aside">
            (was <Short value={d.previous_locked_rev} />)
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
        {steps.map((s) => (
          <tr key={s.name}>
            <th scope="row">{s.name}</th>
            <td data-label="Status">
              <Badge status={s.status} />
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

export function Nodes({ d }: { d: Deployment }) {
  return (
    <section aria-labelledby="nodes-title">
      <h2 id="nodes-title">Nodes</h2>
      <ul class="nodes">
        {(d.nodes ?? []).map((n) => (
          <li key={n.node}>
            <Badge status={n.status} /> <strong>{n.node}</strong>
            {n.message && <span class="muted">{n.message}</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}
