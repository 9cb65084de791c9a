/**
 * History: every deployment, newest first, filtered by package and status, a
 * page at a time; "Roll back to this version" on each that deployed (except
 * the one each package runs now).
 */

import { api } from "../api.ts";
import { Badge, Link, PagedTable, Time } from "../components.tsx";
import { useLoad } from "../load.ts";
import { navigate, place, withQuery } from "../router.ts";
import { formatDuration } from "../time.ts";
import { DEPLOYMENT_STATUSES } from "../types.ts";
import { RollbackButton } from "./deployment_actions.tsx";

const PAGE = 25;

export function History() {
  const q = place.value.query;
  const filter = {
    package: q.get("package") ?? undefined,
    status: q.get("status") ?? undefined,
    cursor: q.get("cursor") ?? undefined,
  };
  // Refreshed while visible, so a row does not read "running" long after it ended.
  const page = useLoad(
    () => api.deployments({ ...filter, limit: PAGE }),
    JSON.stringify(filter),
    5000,
  );
  const packages = useLoad(api.packages, "packages", 5000);
  const names = packages.data.value?.packages.map((p) => p.name) ?? [];
  // What each package runs now: rolling back to it would change nothing.
  const current = new Set(packages.data.value?.packages.map((p) => p.deployment_id ?? ""));
  if (filter.package && !names.includes(filter.package)) names.push(filter.package);
  const set = (change: Record<string, string | undefined>) =>
    navigate(withQuery("/deployments", { ...filter, cursor: undefined, ...change }));
  const rows = page.data.value?.deployments;
  const next = page.data.value?.next_cursor;

  return (
    <section aria-labelledby="history-title">
      <h1 id="history-title">History</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Package
          <select
            value={filter.package ?? ""}
            onChange={(e) => set({ package: e.currentTarget.value || undefined })}
          >
            <option value="">all packages</option>
            {names.map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        </label>
        <label>
          Status
          <select
            value={filter.status ?? ""}
            onChange={(e) => set({ status: e.currentTarget.value || undefined })}
          >
            <option value="">any status</option>
            {DEPLOYMENT_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
      </form>
      <PagedTable
        rows={rows}
        error={page.error.value}
        empty="No deployment matches."
        columns={["Deployment", "Status", "Requested", "Took", "By", { srOnly: "Actions" }]}
        row={(d) => (
          <tr key={d.id}>
            <th scope="row">
              <Link href={`/deployments/${d.id}`}>{d.package} {d.version}</Link>
            </th>
            <td data-label="Status">
              <Badge status={d.status} />
              {d.error && <div class="muted small-text reason" title={d.error}>{d.error}</div>}
            </td>
            <td data-label="Requested">
              <Time at={d.created_at} />
            </td>
            <td data-label="Took">
              {d.started_at && d.finished_at
                ? formatDuration(Date.parse(d.finished_at) - Date.parse(d.started_at))
                : "—"}
            </td>
            <td data-label="By">{d.triggered_by?.label ?? "—"}</td>
            <td>
              {d.status === "deployed" && !current.has(d.id) && <RollbackButton d={d} small />}
            </td>
          </tr>
        )}
        older={next}
        showingOlder={!!filter.cursor}
        go={(cursor) => set(cursor ? { cursor } : {})}
      />
    </section>
  );
}
