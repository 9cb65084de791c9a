/**
 * One node (/fleet/<node>): what it runs (GET /api/nodes), which of its
 * packages are held, and every deployment that reported an outcome for it
 * — its activations, newest first, a page at a time
 * (GET /api/deployments?node=), each with this node's own outcome (and its
 * fleet rollback's, when there was one).
 */

import { useEffect } from "preact/hooks";
import { api } from "../api.ts";
import { Badge, Link, Loading, PagedTable, Short, Time } from "../components.tsx";
import { useLoad } from "../load.ts";
import { LoadNote } from "../load_note.tsx";
import { navigate, place, withQuery } from "../router.ts";
import { durationBetween, formatDuration } from "../time.ts";
import { ReleaseButton } from "./deployment_actions.tsx";
import { Drift } from "./fleet.tsx";

export function NodeView({ node }: { node: string }) {
  const cursor = place.value.query.get("cursor") ?? undefined;
  const nodes = useLoad(api.nodes, "nodes", 10_000);
  const packages = useLoad(api.packages, "packages", 10_000);
  const page = useLoad(
    () => api.deployments({ node, cursor, limit: 25 }),
    `${node} ${cursor}`,
    10_000,
  );
  const list = nodes.data.value?.nodes;
  // Again once loaded: the shell titles unknown paths after this screen's first effect.
  useEffect(() => {
    document.title = `${node} · despacito`;
  }, [node, !list]);
  const n = list?.find((x) => x.node === node);
  const rows = page.data.value?.deployments;
  const here = `/fleet/${encodeURIComponent(node)}`;
  if (list && !n && rows?.length === 0 && !cursor) {
    return (
      <section>
        <h1>No such node</h1>
        <p>
          despacito has never activated or checked a node <code>{node}</code>.{" "}
          <Link href="/fleet">Go to the fleet</Link>.
        </p>
      </section>
    );
  }
  const held = (packages.data.value?.packages ?? []).filter((p) => p.held && n?.packages?.[p.name]);
  return (
    <section aria-labelledby="node-title">
      <p class="muted small-text">
        <Link href="/fleet">Fleet</Link> /
      </p>
      <h1 id="node-title">{node}</h1>
      <LoadNote of={nodes} />
      {!list && !nodes.error.value && <Loading />}
      {n && (
        <dl class="facts">
          <dt>Tags</dt>
          <dd>{n.tags?.length ? n.tags.map((t) => `@${t}`).join(" ") : "—"}</dd>
          <dt>Last outcome</dt>
          <dd>
            <Badge status={n.outcome} /> <Time at={n.activated_at} full />
            {n.deployment_id && (
              <>
                {" "}
                <Link href={`/deployments/${n.deployment_id}`}>deployment</Link>
              </>
            )}
          </dd>
          <dt>Runs</dt>
          <dd>
            <ul class="plain">
              {Object.entries(n.packages ?? {}).map(([p, v]) => <li key={p}>{p} {v}</li>)}
            </ul>
          </dd>
          <dt>Commit</dt>
          <dd>
            <Short value={n.commit} what={`commit of ${node}`} />
          </dd>
          <dt>Drift</dt>
          <dd>
            <Drift n={n} />
          </dd>
        </dl>
      )}
      {held.map((p) => (
        <p key={p.name} class="held" role="status">
          <Badge status="held" /> {p.name} is held since <Time at={p.held!.held_at} />:{" "}
          {p.held!.reason} <ReleaseButton pkg={p.name} held={p.held!} onDone={packages.reload} />
        </p>
      ))}
      <h2>Activations</h2>
      <LoadNote of={page} />
      <PagedTable
        rows={rows}
        error={undefined}
        empty="No deployment has reported this node yet."
        columns={["Deployment", "On this node", "Finished", "Took"]}
        row={(d) => {
          const mine = d.nodes?.find((x) => x.node === node);
          const back = d.rollback?.nodes.find((x) => x.node === node);
          return (
            <tr key={d.id}>
              <th scope="row">
                <Link href={`/deployments/${d.id}`}>{d.package} {d.version}</Link>
                <div>
                  <Badge status={d.status} />
                </div>
              </th>
              <td data-label="On this node">
                <Badge status={mine?.status} />
                {mine?.message && <div class="muted small-text reason">{mine.message}</div>}
                {back && (
                  <div class="small-text">
                    then rolled back: <Badge status={back.status} />
                  </div>
                )}
              </td>
              <td data-label="Finished">
                <Time at={d.finished_at ?? d.created_at} />
              </td>
              <td data-label="Took">
                {formatDuration(durationBetween(d.started_at, d.finished_at, Date.now()))}
              </td>
            </tr>
          );
        }}
        older={page.data.value?.next_cursor}
        showingOlder={!!cursor}
        go={(c) => navigate(withQuery(here, { cursor: c }))}
      />
    </section>
  );
}
