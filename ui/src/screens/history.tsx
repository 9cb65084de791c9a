/**
 * History: every deployment, newest first, filtered by package, any set of
 * statuses and a version search (all in the address, so a filtered view can
 * be shared), a page at a time, each failed row with its reason; "Roll back
 * to this version" on each that deployed (except the one each package runs
 * now).
 */

import { useEffect } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { api } from "../api.ts";
import { Badge, Link, PagedTable, Time } from "../components.tsx";
import { useLoad } from "../load.ts";
import { LoadNote } from "../load_note.tsx";
import { navigate, place, withQuery } from "../router.ts";
import { formatDuration } from "../time.ts";
import { type Deployment, DEPLOYMENT_STATUSES } from "../types.ts";
import { RollbackButton } from "./deployment_actions.tsx";
import { failureTitle } from "./deployment.tsx";

const PAGE = 25;

/** The filter in the address now (read again at each change: two quick clicks both count). */
function currentFilter() {
  const q = place.value.query;
  return {
    package: q.get("package") ?? undefined,
    status: q.get("status") ?? undefined,
    version: q.get("version") ?? undefined,
    cursor: q.get("cursor") ?? undefined,
  };
}

export function History() {
  const filter = currentFilter();
  const statuses = new Set(filter.status?.split(",") ?? []);
  const search = useSignal(filter.version ?? "");
  // Back/Forward or a link change the address: the field follows it.
  useEffect(() => {
    search.value = filter.version ?? "";
  }, [filter.version]);
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
    navigate(withQuery("/deployments", { ...currentFilter(), cursor: undefined, ...change }));
  const toggle = (s: string, on: boolean) => {
    const now = new Set(currentFilter().status?.split(",") ?? []);
    const next = DEPLOYMENT_STATUSES.filter((x) => x === s ? on : now.has(x));
    set({ status: next.join(",") || undefined });
  };
  const rows = page.data.value?.deployments;
  const next = page.data.value?.next_cursor;

  return (
    <section aria-labelledby="history-title">
      <h1 id="history-title">History</h1>
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          set({ version: search.value.trim() || undefined });
        }}
      >
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
        <div class="search">
          <label>
            Version contains
            <input
              type="search"
              name="version"
              maxLength={128}
              value={search.value}
              onInput={(e) => (search.value = e.currentTarget.value)}
            />
          </label>
          <button type="submit">Search</button>
        </div>
        <fieldset class="choices">
          <legend>Status (none ticked: any)</legend>
          {DEPLOYMENT_STATUSES.map((s) => (
            <label key={s} class="inline">
              <input
                type="checkbox"
                checked={statuses.has(s)}
                onChange={(e) => toggle(s, e.currentTarget.checked)}
              />
              {s}
            </label>
          ))}
        </fieldset>
      </form>
      <LoadNote of={page} />
      <PagedTable
        rows={rows}
        error={undefined}
        empty="No deployment matches."
        columns={["Deployment", "Status", "Requested", "Took", "By", { srOnly: "Actions" }]}
        row={(d) => (
          <tr key={d.id}>
            <th scope="row">
              <Link href={`/deployments/${d.id}`}>{d.package} {d.version}</Link>
            </th>
            <td data-label="Status">
              <Badge status={d.status} />
              <Reason d={d} />
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

/**
 * Why it did not deploy, in one line: the headline of its failure code and
 * the server's error (which names the failing nodes and the first real error
 * line); without one, the first error line of the log's tail.
 */
function Reason({ d }: { d: Deployment }) {
  const tail = d.log_tail ?? [];
  const detail = d.error ?? tail.find((l) => /\berror\b/i.test(l)) ?? tail.at(-1);
  const text = [failureTitle(d), detail].filter(Boolean).join(" ");
  if (!text || d.status === "deployed") return null;
  return <div class="muted small-text reason" title={text}>{text}</div>;
}
