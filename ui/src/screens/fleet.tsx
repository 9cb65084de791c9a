/**
 * Fleet: what each node runs as despacito last saw it (GET /api/nodes) —
 * its tags, the flake commit it last activated or was rolled back to, the
 * deployment that put it there, every package's version on it, how that
 * went, and the last drift check (Check now: POST /api/nodes/refresh). Held
 * packages on top, with Release: this is the page to read before releasing.
 * Each node links to its own page (node.tsx): its activations.
 */

import { useSignal } from "@preact/signals";
import { api, describeError } from "../api.ts";
import { Badge, ErrorNote, Link, Loading, Short, Table, Time } from "../components.tsx";
import { useLoad } from "../load.ts";
import { LoadNote } from "../load_note.tsx";
import type { FleetNode } from "../types.ts";
import { ReleaseButton } from "./deployment_actions.tsx";

export function Fleet() {
  const nodes = useLoad(api.nodes, "nodes", 10_000);
  const packages = useLoad(api.packages, "packages", 10_000);
  const checking = useSignal(false);
  const checkError = useSignal<string | null>(null);
  const list = nodes.data.value?.nodes;
  const held = (packages.data.value?.packages ?? []).filter((p) => p.held);
  const check = async () => {
    checking.value = true;
    checkError.value = null;
    try {
      nodes.data.value = await api.refreshNodes();
    } catch (e) {
      checkError.value = describeError(e);
    } finally {
      checking.value = false;
    }
  };
  return (
    <section aria-labelledby="fleet-title">
      <div class="title-row">
        <h1 id="fleet-title">Fleet</h1>
        <button type="button" disabled={checking.value} onClick={check}>
          {checking.value ? "Checking…" : "Check drift now"}
        </button>
      </div>
      <LoadNote of={nodes} />
      <ErrorNote message={checkError.value} />
      {held.map((p) => (
        <p key={p.name} class="held" role="status">
          <Badge status="held" /> {p.name} is held since <Time at={p.held!.held_at} />:{" "}
          {p.held!.reason} <Link href={`/deployments/${p.held!.deployment_id}`}>deployment</Link>
          {" "}
          <ReleaseButton pkg={p.name} held={p.held!} onDone={packages.reload} />
        </p>
      ))}
      {!list && !nodes.error.value && <Loading />}
      {list && list.length === 0 && (
        <p class="muted">No node has been activated or checked by despacito yet.</p>
      )}
      {list && list.length > 0 && (
        <Table columns={["Node", "Outcome", "Packages", "Commit", "Since", "Drift"]}>
          {list.map((n) => (
            <tr key={n.node}>
              <th scope="row">
                <Link href={`/fleet/${encodeURIComponent(n.node)}`}>{n.node}</Link>
                {n.tags && n.tags.length > 0 && (
                  <div class="muted small-text">{n.tags.map((t) => `@${t}`).join(" ")}</div>
                )}
              </th>
              <td data-label="Outcome">
                <Badge status={n.outcome} />
              </td>
              <td data-label="Packages">
                <ul class="plain">
                  {Object.entries(n.packages ?? {}).map(([p, v]) => <li key={p}>{p} {v}</li>)}
                </ul>
              </td>
              <td data-label="Commit">
                <Short value={n.commit} what={`commit of ${n.node}`} />
              </td>
              <td data-label="Since">
                <Time at={n.activated_at} />
                {n.deployment_id && (
                  <>
                    {" "}
                    <Link href={`/deployments/${n.deployment_id}`}>deployment</Link>
                  </>
                )}
              </td>
              <td data-label="Drift">
                <Drift n={n} />
              </td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

/** The last drift check: in sync, drifted (with what it runs), unreachable, or never checked. */
export function Drift({ n }: { n: FleetNode }) {
  if (!n.checked_at) return <span class="muted">not checked</span>;
  const verdict = n.reachable === false
    ? "unreachable"
    : n.drift === true
    ? "drifted"
    : n.drift === false
    ? "in_sync"
    : "unknown";
  return (
    <>
      <Badge status={verdict} />
      {n.drift === true && n.running_system && (
        <div class="small-text">
          runs <Short value={n.running_system} what={`system ${n.node} runs`} />
        </div>
      )}
      <div class="muted small-text">
        checked <Time at={n.checked_at} />
      </div>
    </>
  );
}
