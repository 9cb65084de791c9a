/**
 * Tokens: the machines' bearer tokens. A new token is shown once, in a
 * dialog with a copy button and a warning; closing the dialog drops it from
 * memory, so it can never be shown again. Revoking asks first.
 */

import { useSignal } from "@preact/signals";
import { api, describeError } from "../api.ts";
import {
  ConfirmDialog,
  CopyButton,
  Dialog,
  ErrorNote,
  Loading,
  Table,
  Time,
} from "../components.tsx";
import { useLoad } from "../load.ts";
import { LoadNote } from "../load_note.tsx";
import { CliSessions } from "./cli_sessions.tsx";
import type { CreatedToken, Token } from "../types.ts";

const EXPIRY = [
  { value: "", label: "never" },
  { value: "720h", label: "30 days" },
  { value: "2160h", label: "90 days" },
  { value: "8760h", label: "1 year" },
];

export function Tokens() {
  const list = useLoad(api.tokens, "tokens");
  const created = useSignal<CreatedToken | null>(null);
  const revoking = useSignal<Token | null>(null);
  const showRevoked = useSignal(false);
  const all = list.data.value?.tokens;
  const tokens = all?.filter((t) => showRevoked.value || !t.revoked_at);
  return (
    <>
      <section aria-labelledby="tokens-title">
        <h1 id="tokens-title">Tokens</h1>
        <p class="muted">
          Bearer tokens let machines (CI runners) ask for deployments. despacito stores only their
          hash.
        </p>
        <LoadNote of={list} />
        {!all && !list.error.value && <Loading />}
        {all && (
          <label class="inline">
            <input
              type="checkbox"
              checked={showRevoked.value}
              onChange={(e) => (showRevoked.value = e.currentTarget.checked)}
            />{" "}
            show revoked tokens
          </label>
        )}
        {tokens && tokens.length === 0 && <p class="muted">No tokens yet.</p>}
        {tokens && tokens.length > 0 && (
          <Table
            columns={[
              "Description",
              "Scope",
              "Created",
              "Expires",
              "Last used",
              { srOnly: "Actions" },
            ]}
          >
            {tokens.map((t) => (
              <tr key={t.id} data-token-id={t.id}>
                <th scope="row">{t.description}</th>
                <td data-label="Scope">
                  {t.packages ? t.packages.join(", ") : "all packages"}
                </td>
                <td data-label="Created">
                  <Time at={t.created_at} />
                </td>
                <td data-label="Expires">
                  {t.expires_at ? <Time at={t.expires_at} /> : "never"}
                </td>
                <td data-label="Last used">
                  <Time at={t.last_used_at} />
                </td>
                <td>
                  {t.revoked_at ? <span class="badge badge-cancelled">revoked</span> : (
                    <button
                      type="button"
                      class="small danger"
                      aria-label={`Revoke token ${t.description}`}
                      onClick={() => (revoking.value = t)}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </Table>
        )}
      </section>
      <CliSessions />
      <NewToken
        onCreated={(t) => {
          created.value = t;
          list.reload();
        }}
      />
      {created.value && (
        <ShowOnce token={created.value.token} onClose={() => (created.value = null)} />
      )}
      {revoking.value && (
        <ConfirmDialog
          title="Revoke this token?"
          confirm="Revoke token"
          onClose={() => (revoking.value = null)}
          onConfirm={async () => {
            await api.revokeToken(revoking.value!.id);
            await list.reload();
          }}
        >
          <p>
            “{revoking.value.description}” stops working at once: every machine using it will be
            refused. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

/**
 * The new-token form. The scope is chosen from the flake's inputs (the API
 * refuses any other name with 422); none ticked: all packages. After a
 * token is made every field starts over, the expiry included.
 */
function NewToken({ onCreated }: { onCreated: (t: CreatedToken) => void }) {
  const description = useSignal("");
  const expires = useSignal("");
  const scope = useSignal<string[]>([]);
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const inputs = useLoad(api.packages, "packages");
  const names = inputs.data.value?.packages.map((p) => p.name) ?? [];
  return (
    <section aria-labelledby="new-token-title">
      <h2 id="new-token-title">New token</h2>
      <form
        class="card"
        onSubmit={async (e) => {
          e.preventDefault();
          busy.value = true;
          error.value = null;
          try {
            const t = await api.createToken({
              description: description.value.trim(),
              ...(expires.value ? { expires_in: expires.value } : {}),
              ...(scope.value.length ? { packages: scope.value } : {}),
            });
            description.value = "";
            expires.value = "";
            scope.value = [];
            onCreated(t);
          } catch (err) {
            error.value = describeError(err);
          } finally {
            busy.value = false;
          }
        }}
      >
        <label>
          Description
          <input
            name="description"
            required
            maxLength={200}
            placeholder="ci-runner-1"
            value={description.value}
            onInput={(e) => (description.value = e.currentTarget.value)}
          />
        </label>
        <label>
          Expires
          <select value={expires.value} onChange={(e) => (expires.value = e.currentTarget.value)}>
            {EXPIRY.map((x) => <option key={x.value} value={x.value}>{x.label}</option>)}
          </select>
        </label>
        <fieldset class="choices">
          <legend>May deploy (none ticked: every package)</legend>
          <LoadNote of={inputs} />
          {inputs.data.value && names.length === 0 && (
            <span class="muted">The deployment flake declares no inputs.</span>
          )}
          {names.map((n) => (
            <label key={n} class="inline">
              <input
                type="checkbox"
                name="packages"
                value={n}
                checked={scope.value.includes(n)}
                onChange={(e) =>
                  scope.value = e.currentTarget.checked
                    ? [...scope.value, n]
                    : scope.value.filter((x) => x !== n)}
              />
              {n}
            </label>
          ))}
        </fieldset>
        <ErrorNote message={error.value} />
        <button type="submit" class="primary" disabled={busy.value}>Create token</button>
      </form>
    </section>
  );
}

function ShowOnce({ token, onClose }: { token: string; onClose: () => void }) {
  return (
    <Dialog title="Your new token" onClose={onClose} wide>
      <p class="warning" role="alert">
        Copy it now. This is the only time despacito shows this token; once you close this dialog it
        is gone.
      </p>
      <div class="secret">
        <code class="token-value">{token}</code>
        <CopyButton text={token} label="Copy token" />
      </div>
      <div class="actions">
        <button type="button" class="primary" onClick={onClose}>I have stored it — close</button>
      </div>
    </Dialog>
  );
}
