/**
 * One deployment: what was asked and by whom, step timings, per-node
 * outcome, the deploy commit, and the log — live over SSE while it runs
 * (resuming without gaps or duplicates, see log_stream.ts), the stored log
 * once it is done. Cancel while it is queued or running.
 */

import { useEffect } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { api, describeError } from "../api.ts";
import {
  Badge,
  clock,
  ConfirmDialog,
  ErrorNote,
  Link,
  Loading,
  Short,
  Time,
} from "../components.tsx";
import { followEvents, type StreamState } from "../log_stream.ts";
import { durationBetween, formatDuration } from "../time.ts";
import { ACTIVE, type Deployment, type LogLine } from "../types.ts";
import { LogView } from "./log_view.tsx";

export function DeploymentView({ id }: { id: string }) {
  const dep = useSignal<Deployment | undefined>(undefined);
  const error = useSignal<string | null>(null);
  const lines = useSignal<LogLine[]>([]);
  const stream = useSignal<StreamState | "stored" | "">("");
  const retryIn = useSignal<number | undefined>(undefined);
  const confirming = useSignal(false);

  useEffect(() => {
    let closed = false;
    let follower: { close(): void } | undefined;
    let buffer: LogLine[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Lines arrive in bursts; render them in batches, not one by one.
    const flush = () => {
      timer = undefined;
      lines.value = lines.value.concat(buffer);
      buffer = [];
    };
    const refresh = async () => {
      try {
        const d = await api.deployment(id);
        if (!closed) dep.value = d;
      } catch (e) {
        if (!closed) error.value = describeError(e);
      }
    };
    dep.value = undefined;
    lines.value = [];
    error.value = null;
    (async () => {
      try {
        const d = await api.deployment(id);
        if (closed) return;
        dep.value = d;
        if (ACTIVE.includes(d.status)) {
          follower = followEvents({
            open: (last) => api.events(id, last),
            onLine: (l) => {
              buffer.push(l);
              timer ??= setTimeout(flush, 50);
            },
            onStatus: (s) => (dep.value = s),
            onEnd: () => refresh(),
            onState: (s, retry) => {
              stream.value = s;
              retryIn.value = retry;
              // A dropped stream may mean a lost session: a plain request finds out (401 → sign-in).
              if (s === "reconnecting" && retry !== undefined) refresh();
            },
          });
        } else {
          const text = await api.deploymentLog(id);
          if (closed) return;
          lines.value = storedLines(text);
          stream.value = "stored";
        }
      } catch (e) {
        if (!closed) error.value = describeError(e);
      }
    })();
    return () => {
      closed = true;
      follower?.close();
      clearTimeout(timer);
    };
  }, [id]);

  const d = dep.value;
  if (!d) return error.value ? <ErrorNote message={error.value} /> : <Loading />;
  const active = ACTIVE.includes(d.status);
  return (
    <>
      <div class="title-row">
        <h1>
          {d.package} <span class="version">{d.version}</span>
        </h1>
        <Badge status={d.status} />
        {active && (
          <button type="button" class="danger" onClick={() => (confirming.value = true)}>
            Cancel deployment
          </button>
        )}
      </div>
      <ErrorNote message={error.value} />
      {d.error && <p class="error" role="status">{d.error}</p>}
      <Request d={d} />
      <Steps d={d} />
      {d.nodes && d.nodes.length > 0 && <Nodes d={d} />}
      <section aria-labelledby="log-title">
        <div class="title-row">
          <h2 id="log-title">Log</h2>
          <StreamNote state={stream.value} retryIn={retryIn.value} />
        </div>
        <LogView lines={lines.value} />
      </section>
      {confirming.value && (
        <ConfirmDialog
          title="Cancel this deployment?"
          confirm="Cancel deployment"
          onClose={() => (confirming.value = false)}
          onConfirm={async () => {
            await api.cancel(d.id);
            dep.value = await api.deployment(d.id);
          }}
        >
          <p>
            {d.package} {d.version}{" "}
            will stop; a running colmena is interrupted and the flake repository goes back to its
            last good commit.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

function Request({ d }: { d: Deployment }) {
  const t = d.triggered_by;
  return (
    <dl class="facts">
      <dt>Triggered by</dt>
      <dd>{t ? `${t.label} (${t.kind === "forge" ? "forge webhook" : t.kind})` : "—"}</dd>
      <dt>Requested</dt>
      <dd>
        <Time at={d.created_at} />
      </dd>
      <dt>Store path</dt>
      <dd>
        {d.nix_store_path
          ? <Short value={d.nix_store_path} />
          : <span class="muted">none (the flake builds it)</span>}
      </dd>
      <dt>Flake ref</dt>
      <dd>
        {d.flake_ref ? <code class="wrap">{d.flake_ref}</code> : <span class="muted">—</span>}
      </dd>
      <dt>Deploy commit</dt>
      <dd>
        <Short value={d.commit_sha} />
      </dd>
      <dt>Locked rev</dt>
      <dd>
        <Short value={d.locked_rev} />
        {d.previous_locked_rev && (
          <span class="muted aside">
            (was <Short value={d.previous_locked_rev} />)
          </span>
        )}
      </dd>
      {d.exit_code !== null && (
        <>
          <dt>Exit code</dt>
          <dd>{d.exit_code}</dd>
        </>
      )}
      {d.superseded_by && (
        <>
          <dt>Superseded by</dt>
          <dd>
            <Link href={`/deployments/${d.superseded_by}`}>the newer deployment</Link>
          </dd>
        </>
      )}
    </dl>
  );
}

function Steps({ d }: { d: Deployment }) {
  const steps = d.steps ?? [];
  if (steps.length === 0) return null;
  return (
    <section aria-labelledby="steps-title">
      <h2 id="steps-title">Steps</h2>
      <div class="table-wrap">
        <table class="stack">
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col">Status</th>
              <th scope="col">Started</th>
              <th scope="col">Took</th>
            </tr>
          </thead>
          <tbody>
            {steps.map((s) => (
              <tr key={s.name}>
                <th scope="row">{s.name}</th>
                <td data-label="Status">
                  <Badge status={s.status} />
                </td>
                <td data-label="Started">
                  <Time at={s.started_at} />
                </td>
                <td data-label="Took">
                  {formatDuration(
                    s.duration_ms ?? durationBetween(s.started_at, s.finished_at, clock.value),
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Nodes({ d }: { d: Deployment }) {
  return (
    <section aria-labelledby="nodes-title">
      <h2 id="nodes-title">Nodes</h2>
      <ul class="nodes">
        {(d.nodes ?? []).map((n) => (
          <li key={n.node}>
            <Badge status={n.status} /> <strong>{n.node}</strong>
            {n.message && <span class="muted">{n.message}</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}

function StreamNote({ state, retryIn }: { state: string; retryIn?: number }) {
  const text = state === "live"
    ? "live"
    : state === "connecting"
    ? "connecting…"
    : state === "reconnecting"
    ? retryIn ? `connection lost, retrying in ${Math.ceil(retryIn / 1000)} s` : "reconnecting…"
    : state === "ended"
    ? "complete"
    : state === "stored"
    ? "stored log"
    : "";
  return text ? <span class={`stream stream-${state}`} role="status">{text}</span> : null;
}

function storedLines(text: string): LogLine[] {
  const raw = text.endsWith("\n") ? text.slice(0, -1) : text;
  if (raw === "") return [];
  return raw.split("\n").map((line, i) => ({ seq: i + 1, stream: "stdout", line, at: "" }));
}
