/**
 * Fleet: what each node runs as despacito last saw it (GET /api/nodes) —
 * the flake commit it last activated or was rolled back to, the deployment
 * that put it there, every package's version on it and how that went. The
 * page to read before releasing a held package.
 */

import { api } from "../api.ts";
import { Badge, ErrorNote, Link, Loading, Short, Table, Time } from "../components.tsx";
import { useLoad } from "../load.ts";

export function Fleet() {
  const nodes = useLoad(api.nodes, "nodes", 10_000);
  const list = nodes.data.value?.nodes;
  return (
    <section aria-labelledby="fleet-title">
      <h1 id="fleet-title">Fleet</h1>
      <ErrorNote message={nodes.error.value} />
      {!list && !nodes.error.value && <Loading />}
      {list && list.length === 0 && (
        <p class="muted">No node has been activated by despacito yet.</p>
      )}
      {list && list.length > 0 && (
        <Table columns={["Node", "Outcome", "Packages", "Commit", "Since"]}>
          {list.map((n) => (
            <tr key={n.node}>
              <th scope="row">{n.node}</th>
              <td data-label="Outcome">
                <Badge status={n.outcome} />
              </td>
              <td data-label="Packages">
                <ul class="plain">
                  {Object.entries(n.packages).map(([p, v]) => <li key={p}>{p} {v}</li>)}
                </ul>
              </td>
              <td data-label="Commit">
                <Short value={n.commit} />
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
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}
