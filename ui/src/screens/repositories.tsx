/**
 * Repositories: Forgejo/Gitea connections. Connect (the webhook is made for
 * you, or the manual instructions are shown once with the secret), list with
 * the last delivery, the last status post and any problem only the operator
 * can fix (token rejected or read-only, repository moved), rotate the secret
 * (shown once), disconnect. Secrets leave memory when their dialog closes.
 */

import { useSignal } from "@preact/signals";
import { api } from "../api.ts";
import {
  Badge,
  ConfirmDialog,
  CopyButton,
  Dialog,
  ErrorNote,
  Link,
  Loading,
  Time,
} from "../components.tsx";
import { useLoad } from "../load.ts";
import type { Connected, ManualWebhook, Repository } from "../types.ts";
import { ConnectForm } from "./connect_form.tsx";

interface Rotated {
  repo: Repository;
  secret: string;
  previous_valid_until: string;
  webhook_updated: boolean;
  warning?: string;
}

export function Repositories() {
  const list = useLoad(api.repositories, "repositories");
  const connected = useSignal<Connected | null>(null);
  const rotated = useSignal<Rotated | null>(null);
  const removing = useSignal<Repository | null>(null);
  const rotating = useSignal<Repository | null>(null);
  const notice = useSignal<string | null>(null);
  const repos = list.data.value?.repositories;
  return (
    <>
      <section aria-labelledby="repos-title">
        <h1 id="repos-title">Repositories</h1>
        <p class="muted">
          Forgejo or Gitea repositories whose releases or tags deploy a package. despacito posts the
          outcome back as a commit status.
        </p>
        {notice.value && <p class="notice" role="status">{notice.value}</p>}
        <ErrorNote message={list.error.value} />
        {!repos && !list.error.value && <Loading />}
        {repos && repos.length === 0 && <p class="muted">No repository connected yet.</p>}
        {repos && repos.length > 0 && (
          <ul class="cards">
            {repos.map((r) => (
              <li key={r.id} class="card repo">
                <RepoCard
                  r={r}
                  onRotate={() => (rotating.value = r)}
                  onRemove={() => (removing.value = r)}
                />
              </li>
            ))}
          </ul>
        )}
      </section>
      <ConnectForm
        onConnected={(c) => {
          connected.value = c;
          list.reload();
        }}
      />
      {connected.value && (
        <ConnectedDialog c={connected.value} onClose={() => (connected.value = null)} />
      )}
      {rotating.value && (
        <ConfirmDialog
          title="Rotate the webhook secret?"
          confirm="Rotate secret"
          onClose={() => (rotating.value = null)}
          onConfirm={async () => {
            const repo = rotating.value!;
            rotated.value = { repo, ...(await api.rotateSecret(repo.id)) };
            await list.reload();
          }}
        >
          <p>
            A new secret is made for{" "}
            {rotating.value.owner}/{rotating.value.repo}; the old one keeps working for a while so
            deliveries in flight are not lost.
          </p>
        </ConfirmDialog>
      )}
      {rotated.value && <RotatedDialog r={rotated.value} onClose={() => (rotated.value = null)} />}
      {removing.value && (
        <ConfirmDialog
          title="Disconnect this repository?"
          confirm="Disconnect"
          onClose={() => (removing.value = null)}
          onConfirm={async () => {
            const res = await api.disconnectRepository(removing.value!.id);
            notice.value = res.webhook_removed
              ? "Disconnected; the webhook was removed from the forge."
              : `Disconnected, but the webhook could not be removed from the forge${
                res.warning ? `: ${res.warning}` : ""
              }. Remove it there by hand.`;
            await list.reload();
          }}
        >
          <p>
            {removing.value.owner}/{removing.value.repo} will no longer deploy{" "}
            {removing.value.package}. despacito also tries to remove its webhook from the forge.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

function RepoCard(
  { r, onRotate, onRemove }: { r: Repository; onRotate: () => void; onRemove: () => void },
) {
  const d = r.last_delivery;
  const s = r.last_status_post;
  return (
    <>
      <h2 class="repo-name">
        <a href={`${r.forge_url.replace(/\/$/, "")}/${r.owner}/${r.repo}`} rel="noreferrer">
          {r.owner}/{r.repo}
        </a>
      </h2>
      {r.problem && (
        <p class="warning repo-problem" role="alert" data-code={r.problem.code}>
          <strong>{PROBLEM_TITLES[r.problem.code] ?? "Needs attention"}:</strong>{" "}
          {r.problem.message}
          {r.problem.at && (
            <span class="muted aside">
              (since <Time at={r.problem.at} />)
            </span>
          )}
        </p>
      )}
      <dl class="facts">
        <dt>Deploys</dt>
        <dd>
          {r.package} on each {r.trigger === "release" ? "final release" : "new tag"}
        </dd>
        <dt>Forge</dt>
        <dd>{r.forge_type} at {r.forge_url}</dd>
        {r.source_url && (
          <>
            <dt>Flake fetches from</dt>
            <dd>
              <code>{r.source_url}</code>
            </dd>
          </>
        )}
        <dt>Webhook</dt>
        <dd>{r.webhook_id !== null ? `#${r.webhook_id}` : "set up by hand"}</dd>
        <dt>Secrets</dt>
        <dd>
          <span class="nowrap">token …{r.token.last4}</span>,{" "}
          <span class="nowrap">webhook secret …{r.secret.last4}</span>
          {r.secret.rotating_until && (
            <span class="muted aside">
              (old secret accepted until <Time at={r.secret.rotating_until} />)
            </span>
          )}
        </dd>
        <dt>Last delivery</dt>
        <dd>
          {d
            ? (
              <>
                <Time at={d.at} />: {d.event} delivery, {d.result}
              </>
            )
            : <span class="muted">none yet</span>}
        </dd>
        <dt>Last status post</dt>
        <dd>
          {s
            ? (
              <>
                <Badge status={s.ok ? s.state : "failed"} /> <Time at={s.at} />{" "}
                <Link href={`/deployments/${s.deployment_id}`}>deployment</Link>
                {s.error && <span class="error-text">{s.error}</span>}
              </>
            )
            : <span class="muted">none yet</span>}
        </dd>
      </dl>
      <div class="actions">
        {/* Named after their card: a list of buttons read out of context still says which. */}
        <button
          type="button"
          class="small"
          aria-label={`Rotate secret of ${r.owner}/${r.repo}`}
          onClick={onRotate}
        >
          Rotate secret
        </button>
        <button
          type="button"
          class="small danger"
          aria-label={`Disconnect ${r.owner}/${r.repo}`}
          onClick={onRemove}
        >
          Disconnect
        </button>
      </div>
    </>
  );
}

const PROBLEM_TITLES: Record<string, string> = {
  forge_token_cannot_write: "The token may not write",
  forge_token_rejected: "The forge rejects the token",
  forge_forbidden: "The forge refuses access",
  forge_repo_moved: "The repository moved",
};

function ConnectedDialog({ c, onClose }: { c: Connected; onClose: () => void }) {
  const r = c.repository;
  return (
    <Dialog title={`Connected ${r.owner}/${r.repo}`} onClose={onClose} wide>
      {c.webhook.created
        ? <p>The webhook was created on the forge (#{c.webhook.id}). Nothing else to do.</p>
        : <Manual m={c.webhook.manual} />}
      <div class="actions">
        <button type="button" class="primary" onClick={onClose}>Done</button>
      </div>
    </Dialog>
  );
}

function Manual({ m }: { m: ManualWebhook }) {
  return (
    <>
      <p class="warning" role="alert">
        The token may not manage webhooks of this repository, so add the webhook by hand. The secret
        is shown only now.
      </p>
      <ol class="steps">
        <li>
          In the repository's settings, add a <strong>Forgejo</strong> webhook.
        </li>
        <li>
          Target URL: <code class="wrap">{m.url}</code>{" "}
          <CopyButton text={m.url} name="Copy target URL" />
        </li>
        <li>
          Content type: <code>{m.content_type}</code>
        </li>
        <li>
          Secret: <code class="wrap token-value">{m.secret}</code>{" "}
          <CopyButton text={m.secret} label="Copy secret" />
        </li>
        <li>Trigger on: {m.events.join(", ")}; keep it active.</li>
      </ol>
      <p>
        To let despacito manage the webhook itself next time, create a token with admin rights on
        the <a href={m.token_page_url} rel="noreferrer">forge's token page</a>.
      </p>
    </>
  );
}

function RotatedDialog({ r, onClose }: { r: Rotated; onClose: () => void }) {
  return (
    <Dialog title="New webhook secret" onClose={onClose} wide>
      <p class="warning" role="alert">This is the only time the new secret is shown.</p>
      <div class="secret">
        <code class="token-value">{r.secret}</code>
        <CopyButton text={r.secret} label="Copy secret" />
      </div>
      <p>
        {r.webhook_updated
          ? "A new webhook with this secret replaced the old one on the forge."
          : `Update the webhook of ${r.repo.owner}/${r.repo.repo} on the forge with this secret.`}
        {" "}
        The previous secret is accepted until <Time at={r.previous_valid_until} />.
      </p>
      {r.warning && r.webhook_updated && <p class="warning">{r.warning}</p>}
      <div class="actions">
        <button type="button" class="primary" onClick={onClose}>Close</button>
      </div>
    </Dialog>
  );
}
