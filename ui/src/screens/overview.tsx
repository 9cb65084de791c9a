/**
 * Overview: the queue (running, queued, superseded) and every package with
 * what runs now apart from its latest request, the lock and the hold.
 */

import { api } from "../api.ts";
import { Badge, Link, Loading, Short, Table, Time } from "../components.tsx";
import { LoadNote } from "../load_note.tsx";
import { useLoad } from "../load.ts";
import { readableUrl } from "../url.ts";
import { type Signal, useSignal } from "@preact/signals";
import { ACTIVE, type Deployment, type DeploymentStatus, type Package } from "../types.ts";
import { ReleaseButton } from "./deployment_actions.tsx";

export function Overview() {
  const versions = useSignal<Record<string, Seen>>({});
  const packages = useLoad(() => loadPackages(versions), "packages", 5000);
  const queue = useLoad(loadQueue, "queue", 3000);
  const pkgs = packages.data.value?.packages;
  const active = queue.data.value?.deployments ?? [];
  return (
    <>
      <section aria-labelledby="queue-title">
        <h1 id="queue-title">Queue</h1>
        <LoadNote of={queue} />
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
        <LoadNote of={packages} />
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
                    <LockedNote p={p} seen={versions.value} />
                  </td>
                  <td data-label="Store path">
                    <Short value={p.store_path} what={`store path of ${p.name}`} />
                  </td>
                </tr>
              ))}
            </Table>
            <p class="muted small-text">
              "Running now" is the version of the package's last successful deployment; "flake.lock
              pins" is the revision the deployment flake locks at this moment, and whose it is —
              while a deployment of the package runs, already the new one's.
            </p>
          </>
        )}
      </section>
    </>
  );
}

/** What the overview knows of a deployment it names: its version and the rev it locked. */
interface Seen {
  version: string;
  locked_rev: string | null;
  status: string;
}

/**
 * The packages, and the version and locked rev of the deployments each one
 * names (running now, latest request). A finished deployment never changes,
 * so each is asked for once; a queued or running one until it ends.
 */
async function loadPackages(seen: Signal<Record<string, Seen>>) {
  const r = await api.packages();
  const known = seen.value;
  const missing = [...new Set(r.packages.flatMap((p) => [p.deployment_id, p.last_deployment_id]))]
    .filter((id): id is string =>
      !!id && (!(id in known) || ACTIVE.includes(known[id].status as DeploymentStatus))
    );
  if (missing.length > 0) {
    const found = await Promise.all(missing.map((id) => api.deployment(id).catch(() => null)));
    seen.value = {
      ...known,
      ...Object.fromEntries(
        found.flatMap((d) =>
          d ? [[d.id, { version: d.version, locked_rev: d.locked_rev, status: d.status }]] : []
        ),
      ),
    };
  }
  return r;
}

function Latest({ p, versions }: { p: Package; versions: Signal<Record<string, Seen>> }) {
  const id = p.last_deployment_id;
  if (!id) return <span class="muted">—</span>;
  return (
    <>
      <Link href={`/deployments/${id}`}>
        {id === p.deployment_id ? p.current_version : versions.value[id]?.version ?? "…"}
      </Link>{" "}
      <Badge status={p.last_status} />
    </>
  );
}

/** Whose revision flake.lock pins: the running version's, the latest request's, or neither. */
function LockedNote({ p, seen }: { p: Package; seen: Record<string, Seen> }) {
  if (!p.locked_rev) return null;
  const running = p.deployment_id ? seen[p.deployment_id] : undefined;
  const latest = p.last_deployment_id ? seen[p.last_deployment_id] : undefined;
  const text = running?.locked_rev === p.locked_rev
    ? `${running.version}'s, running now`
    : latest?.locked_rev === p.locked_rev
    ? `${latest.version}'s, the latest request (${latest.status})`
    : running || latest
    ? "set outside despacito"
    : "";
  return text ? <div class="muted small-text">{text}</div> : null;
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
