/**
 * Overview: the queue (running, queued, superseded) and every package with
 * what runs now apart from its latest request, the lock and the hold.
 */

import { api } from "../api.ts";
import { Badge, ErrorNote, Link, Loading, Short, Table, Time } from "../components.tsx";
import { useLoad } from "../load.ts";
import { readableUrl } from "../url.ts";
import { type Signal, useSignal } from "@preact/signals";
import type { Deployment, Package } from "../types.ts";
import { ReleaseButton } from "./deployment_actions.tsx";

export function Overview() {
  const versions = useSignal<Record<string, string>>({});
  const packages = useLoad(() => loadPackages(versions), "packages", 5000);
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
      <ServerFacts />
      <section aria-labelledby="packages-title">
        <h2 id="packages-title">Packages</h2>
        <ErrorNote message={packages.error.value} />
        {!pkgs && !packages.error.value && <Loading />}
        {pkgs && pkgs.length === 0 && (
          <p class="muted">The deployment flake declares no inputs despacito can deploy.</p>
        )}
        {pkgs && pkgs.length > 0 && (
          <>
            <Table
              columns={[
                "Package",
                "Running now",
                "Latest request",
                "flake.lock pins",
                "Store path",
              ]}
            >
              {pkgs.map((p) => (
                <tr key={p.name}>
                  <th scope="row">
                    <Link href={`/deployments?package=${encodeURIComponent(p.name)}`}>
                      {p.name}
                    </Link>
                    <div class="muted small-text wrap" title={p.declared_url}>
                      {readableUrl(p.declared_url)}
                    </div>
                  </th>
                  <td data-label="Running now">
                    {p.current_version
                      ? (
                        <>
                          <Link href={`/deployments/${p.deployment_id}`}>{p.current_version}</Link>
                          <div class="muted small-text">
                            since <Time at={p.deployed_at} />
                          </div>
                        </>
                      )
                      : <span class="muted">never deployed</span>}
                  </td>
                  <td data-label="Latest request">
                    <Latest p={p} versions={versions} />
                    {p.held && (
                      <div class="held">
                        <Badge status="held" />{" "}
                        <Link href={`/deployments/${p.held.deployment_id}`}>why it is held</Link>
                        {" "}
                        <ReleaseButton pkg={p.name} held={p.held} onDone={packages.reload} />
                      </div>
                    )}
                  </td>
                  <td data-label="flake.lock pins">
                    <Short value={p.locked_rev} what={`rev of ${p.name}`} />
                  </td>
                  <td data-label="Store path">
                    <Short value={p.store_path} what={`store path of ${p.name}`} />
                  </td>
                </tr>
              ))}
            </Table>
            <p class="muted small-text">
              "Running now" is the version of the package's last successful deployment; "flake.lock
              pins" is the revision the deployment flake locks at this moment — while a deployment
              of the package runs, already the new one.
            </p>
          </>
        )}
      </section>
    </>
  );
}

/**
 * The packages, and the version of each one's latest request when that is
 * not the one running now. A deployment's version never changes, so each is
 * asked for once (its status comes with the package).
 */
async function loadPackages(versions: Signal<Record<string, string>>) {
  const r = await api.packages();
  const missing = r.packages
    .map((p) => p.last_deployment_id)
    .filter((id): id is string => !!id && !(id in versions.value));
  if (missing.length > 0) {
    const found = await Promise.all(missing.map((id) => api.deployment(id).catch(() => null)));
    versions.value = {
      ...versions.value,
      ...Object.fromEntries(found.flatMap((d) => d ? [[d.id, d.version]] : [])),
    };
  }
  return r;
}

function Latest({ p, versions }: { p: Package; versions: Signal<Record<string, string>> }) {
  const id = p.last_deployment_id;
  if (!id) return <span class="muted">—</span>;
  return (
    <>
      <Link href={`/deployments/${id}`}>
        {id === p.deployment_id ? p.current_version : versions.value[id] ?? "…"}
      </Link>{" "}
      <Badge status={p.last_status} />
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

/** Which instance this is and which leads (DESPACITO_HA), and whether the flake remote is behind. */
function ServerFacts() {
  const ready = useLoad(() => api.ready(), "ready", 10_000);
  const r = ready.data.value;
  if (!r || (!r.instance && !r.flake_remote)) return null;
  const remote = r.flake_remote;
  return (
    <p class="muted" data-testid="server-facts">
      {r.instance && (
        <>
          Instance {r.instance} ({r.role}); leader: {r.leader ?? "none right now"}.{" "}
        </>
      )}
      {remote && !remote.behind && <>Flake remote {remote.branch}: up to date.</>}
      {remote?.behind && (
        <strong>
          Flake remote {remote.branch} is behind: {remote.unpushed_commits}{" "}
          commit(s) not pushed yet{remote.last_error ? ` (${remote.last_error})` : ""}; the next
          deployment pushes them first.
        </strong>
      )}
    </p>
  );
}
