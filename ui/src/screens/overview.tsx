/** Overview: every package with what runs now, and the queue (running, queued, superseded). */

import { api } from "../api.ts";
import { Badge, ErrorNote, Link, Loading, Short, Table, Time } from "../components.tsx";
import { useLoad } from "../load.ts";
import type { Deployment } from "../types.ts";
import { ReleaseButton } from "./deployment_actions.tsx";

export function Overview() {
  const packages = useLoad(api.packages, "packages", 5000);
  const queue = useLoad(loadQueue, "queue", 3000);
  const pkgs = packages.data.value?.packages;
  const active = queue.data.value?.deployments ?? [];
  return (
    <>
      <section aria-labelledby="queue-title">
        <h1 id="queue-title">Queue</h1>
        <ErrorNote message={queue.error.value} />
        {!queue.data.value && !queue.error.value && <Loading />}
        {queue.data.value && active.length === 0 && (
          <p class="muted">
            Nothing running or waiting.
          </p>
        )}
        {active.length > 0 && (
          <ul class="queue">
            {active.map((d) => (
              <li key={d.id}>
                <Badge status={d.status} />{" "}
                <Link href={`/deployments/${d.id}`}>{d.package} {d.version}</Link>{" "}
                <span class="muted">
                  {d.status === "running" ? "started " : "requested "}
                  <Time at={d.started_at ?? d.created_at} />
                  {d.triggered_by && ` by ${d.triggered_by.label}`}
                </span>
                {d.status === "superseded" && d.superseded_by && (
                  <span class="muted aside">
                    — superseded by{" "}
                    <Link href={`/deployments/${d.superseded_by}`}>a newer version</Link>
                  </span>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="packages-title">
        <h2 id="packages-title">Packages</h2>
        <ErrorNote message={packages.error.value} />
        {!pkgs && !packages.error.value && <Loading />}
        {pkgs && pkgs.length === 0 && (
          <p class="muted">The deployment flake declares no inputs despacito can deploy.</p>
        )}
        {pkgs && pkgs.length > 0 && (
          <Table columns={["Package", "Version", "Status", "Locked rev", "Store path", "Deployed"]}>
            {pkgs.map((p) => (
              <tr key={p.name}>
                <th scope="row">
                  <Link href={`/deployments?package=${encodeURIComponent(p.name)}`}>
                    {p.name}
                  </Link>
                  <div class="muted small-text" title={p.declared_url}>{p.declared_url}</div>
                </th>
                <td data-label="Version">
                  {p.current_version ?? <span class="muted">never deployed</span>}
                </td>
                <td data-label="Status">
                  <Badge status={p.last_status} />
                  {p.held && (
                    <div class="held">
                      <Badge status="held" />{" "}
                      <Link href={`/deployments/${p.held.deployment_id}`}>why</Link>{" "}
                      <ReleaseButton pkg={p.name} held={p.held} onDone={packages.reload} />
                    </div>
                  )}
                </td>
                <td data-label="Locked rev">
                  <Short value={p.locked_rev} />
                </td>
                <td data-label="Store path">
                  <Short value={p.store_path} />
                </td>
                <td data-label="Deployed">
                  <Time at={p.deployed_at} />
                  {p.deployment_id && (
                    <>
                      {" "}
                      <Link href={`/deployments/${p.deployment_id}`}>details</Link>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </Table>
        )}
      </section>
    </>
  );
}

/**
 * Running and queued, plus the superseded ones whose successor is still
 * waiting or running. Asked for apart: superseded deployments pile up in
 * history, and mixed into one page they would push a long-running
 * deployment off it.
 */
async function loadQueue(): Promise<{ deployments: Deployment[] }> {
  const [active, superseded] = await Promise.all([
    api.deployments({ status: "queued,running", limit: 200 }),
    api.deployments({ status: "superseded", limit: 50 }),
  ]);
  const waiting = new Set(active.deployments.map((d) => d.id));
  const replaced = superseded.deployments.filter((d) =>
    d.superseded_by !== null && waiting.has(d.superseded_by)
  );
  // Oldest first: the running one on top, then in the order they will run.
  const all = [...active.deployments, ...replaced].sort((a, b) =>
    a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0
  );
  return { deployments: all };
}
