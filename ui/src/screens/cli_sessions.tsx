/**
 * The signed-in user's command-line sign-ins (`despacito login`), on the
 * Tokens page: when each began and was last used, from where, and a
 * Sign out button that revokes it at once (after asking).
 */

import { useSignal } from "@preact/signals";
import { api } from "../api.ts";
import { ConfirmDialog, ErrorNote, Loading, Table, Time } from "../components.tsx";
import { useLoad } from "../load.ts";
import type { CliSession } from "../types.ts";

export function CliSessions() {
  const list = useLoad(api.cliSessions, "cli-sessions");
  const revoking = useSignal<CliSession | null>(null);
  const sessions = list.data.value?.cli_sessions;
  return (
    <section aria-labelledby="cli-sessions-title">
      <h2 id="cli-sessions-title">Command-line sign-ins</h2>
      <p class="muted">
        Each <code>despacito login</code>{" "}
        you approved. Signing out of this browser does not end them; signing one out here does, on
        that computer too.
      </p>
      <ErrorNote message={list.error.value} />
      {!sessions && !list.error.value && <Loading />}
      {sessions && sessions.length === 0 && <p class="muted">No command-line sign-ins.</p>}
      {sessions && sessions.length > 0 && (
        <Table columns={["Client", "From", "Signed in", "Last used", { srOnly: "Actions" }]}>
          {sessions.map((s) => (
            <tr key={s.id} data-cli-session-id={s.id}>
              <th scope="row">{s.client_name}</th>
              <td data-label="From">{s.client_address ?? "unknown"}</td>
              <td data-label="Signed in">
                <Time at={s.created_at} />
              </td>
              <td data-label="Last used">
                <Time at={s.last_used_at} />
              </td>
              <td>
                {/* Named apart from the header's Sign out, which ends this browser's session. */}
                <button
                  type="button"
                  class="small danger"
                  aria-label={`Sign out ${s.client_name} from ${s.client_address ?? "unknown"}`}
                  onClick={() => (revoking.value = s)}
                >
                  Sign out
                </button>
              </td>
            </tr>
          ))}
        </Table>
      )}
      {revoking.value && (
        <ConfirmDialog
          title="Sign out this command line?"
          confirm="Sign out"
          onClose={() => (revoking.value = null)}
          onConfirm={async () => {
            await api.revokeCliSession(revoking.value!.id);
            await list.reload();
          }}
        >
          <p>
            The command line signed in from {revoking.value.client_address ?? "an unknown address"}
            {" "}
            stops working at once; it must run <code>despacito login</code> again.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
