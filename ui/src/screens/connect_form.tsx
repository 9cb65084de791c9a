/** The form that connects a Forgejo/Gitea repository; the PAT is cleared once sent. */

import { useSignal } from "@preact/signals";
import { api, describeError } from "../api.ts";
import { ErrorNote } from "../components.tsx";
import type { Connected, NewRepository } from "../types.ts";

const EMPTY: NewRepository = {
  forge_url: "",
  owner: "",
  repo: "",
  package: "",
  token: "",
  trigger: "release",
  source_url: "",
};

export function ConnectForm({ onConnected }: { onConnected: (c: Connected) => void }) {
  const form = useSignal<NewRepository>({ ...EMPTY });
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const field = (key: keyof NewRepository) => ({
    name: key,
    value: form.value[key] ?? "",
    onInput: (
      e: { currentTarget: HTMLInputElement },
    ) => (form.value = { ...form.value, [key]: e.currentTarget.value }),
  });
  return (
    <section aria-labelledby="connect-title">
      <h2 id="connect-title">Connect a repository</h2>
      <form
        class="card"
        onSubmit={async (e) => {
          e.preventDefault();
          busy.value = true;
          error.value = null;
          try {
            const c = await api.connectRepository({
              ...form.value,
              source_url: form.value.source_url || null,
            });
            form.value = { ...EMPTY };
            onConnected(c);
          } catch (err) {
            error.value = describeError(err);
          } finally {
            busy.value = false;
          }
        }}
      >
        <label>
          Forge URL
          <input type="url" required placeholder="https://codeberg.org" {...field("forge_url")} />
        </label>
        <div class="row">
          <label>
            Owner
            <input required {...field("owner")} />
          </label>
          <label>
            Repository
            <input required {...field("repo")} />
          </label>
        </div>
        <label>
          Package <span class="muted">(the flake input it deploys)</span>
          <input required {...field("package")} />
        </label>
        <label>
          Access token{" "}
          <span class="muted">
            (a PAT with the <code>write:repository</code>{" "}
            scope: commit statuses are writes; an admin of the repository lets despacito make the
            webhook. Stored sealed, never shown again)
          </span>
          <input type="password" autoComplete="off" required {...field("token")} />
        </label>
        <label>
          Deploy on
          <select
            name="trigger"
            value={form.value.trigger}
            onChange={(e) =>
              form.value = {
                ...form.value,
                trigger: e.currentTarget.value === "tag" ? "tag" : "release",
              }}
          >
            <option value="release">published release</option>
            <option value="tag">new tag</option>
          </select>
        </label>
        <label>
          Flake fetches it from{" "}
          <span class="muted">
            (optional: only when the package's flake input is not this forge's git URL, e.g. a
            mirror)
          </span>
          <input placeholder="git+ssh://git@mirror.example/acme/webapp" {...field("source_url")} />
        </label>
        <p class="muted hint" id="allowed-hosts">
          The forge delivers to despacito only if its administrator allows despacito's host: by
          default Forgejo and Gitea deliver to external hosts only. On a private network set{" "}
          <code>ALLOWED_HOST_LIST</code> in the <code>[webhook]</code> section of the forge's{" "}
          <code>app.ini</code> (e.g. <code>private</code>, or despacito's host name).
        </p>
        <ErrorNote message={error.value} />
        <button type="submit" class="primary" disabled={busy.value}>Connect</button>
      </form>
    </section>
  );
}
