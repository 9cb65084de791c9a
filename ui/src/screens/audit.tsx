/**
 * Audit: who did what, newest first, filtered by action, a page at a time;
 * and a button that walks the hash chain on the server and says whether
 * the trail is intact or which row was tampered with.
 */

import { signal } from "@preact/signals";
import { AUDIT_ACTIONS } from "../../../src/core/audit.ts";
import { api, describeError } from "../api.ts";
import { ErrorNote, PagedTable, Short, Time } from "../components.tsx";
import { useLoad } from "../load.ts";
import { navigate, place, withQuery } from "../router.ts";
import type { AuditEntry, AuditVerdict } from "../types.ts";

const PAGE = 50;
const verdict = signal<AuditVerdict | undefined>(undefined);
const verifyError = signal<string | undefined>(undefined);
const verifying = signal(false);

async function verify() {
  verifying.value = true;
  verifyError.value = undefined;
  try {
    verdict.value = await api.verifyAudit();
  } catch (e) {
    verifyError.value = describeError(e);
  } finally {
    verifying.value = false;
  }
}

export function Audit() {
  const q = place.value.query;
  const filter = { action: q.get("action") ?? undefined, cursor: q.get("cursor") ?? undefined };
  const page = useLoad(() => api.audit({ ...filter, limit: PAGE }), JSON.stringify(filter));
  const set = (change: Record<string, string | undefined>) =>
    navigate(withQuery("/audit", { ...filter, cursor: undefined, ...change }));
  const rows = page.data.value?.entries;
  const next = page.data.value?.next_cursor;

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit</h1>
      <div class="verify">
        <button type="button" onClick={verify} disabled={verifying.value}>
          Verify the chain
        </button>
        <Verdict />
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Action
          <select
            value={filter.action ?? ""}
            onChange={(e) => set({ action: e.currentTarget.value || undefined })}
          >
            <option value="">any action</option>
            {AUDIT_ACTIONS.map((a) => <option key={a} value={a}>{a}</option>)}
          </select>
        </label>
      </form>
      <PagedTable
        rows={rows}
        error={page.error.value}
        empty="Nothing recorded matches."
        columns={["#", "When", "Who", "Action", "Target", "From"]}
        row={(e) => <Row key={e.id} e={e} />}
        older={next}
        showingOlder={!!filter.cursor}
        go={(cursor) => set(cursor ? { cursor } : {})}
      />
    </section>
  );
}

function Row({ e }: { e: AuditEntry }) {
  return (
    <tr>
      <th scope="row">{e.id}</th>
      <td data-label="When">
        <Time at={e.at} />
      </td>
      <td data-label="Who">{e.actor.kind}{e.actor.label ? ` ${e.actor.label}` : ""}</td>
      <td data-label="Action">
        <code>{e.action}</code>
      </td>
      <td data-label="Target">
        <Short value={e.target} size={24} what={`target of entry ${e.id}`} />
      </td>
      <td data-label="From">{e.client_address ?? "—"}</td>
    </tr>
  );
}

function Verdict() {
  if (verifyError.value) return <ErrorNote message={verifyError.value} />;
  const v = verdict.value;
  if (!v) return null;
  if (v.ok) {
    return <p role="status" class="ok">Intact: {v.rows} rows, every link checks out.</p>;
  }
  return (
    <p role="alert" class="error">
      Tampered with at row {v.problem!.row_id}: {v.problem!.message}
    </p>
  );
}
