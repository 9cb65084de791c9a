/**
 * One deployment: what was asked and by whom, step timings, per-node
 * outcome, the deploy commit, and the log — live over SSE while it runs
 * (resuming without gaps or duplicates, see log_stream.ts), the stored log
 * once it is done. Cancel while it is queued or running; retry one that
 * failed, was cancelled or interrupted; roll back to one that deployed;
 * release the package when this deployment left it held.
 */

import { useEffect } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { api, ApiError, describeError } from "../api.ts";
import { Badge, ConfirmDialog, ErrorNote, Link, Loading, Time } from "../components.tsx";
import { followEvents, type StreamState } from "../log_stream.ts";
import { ACTIVE, type Deployment, type LogLine } from "../types.ts";
import { Checks, NodeList, Nodes, Request, Rollback, Steps } from "./deployment_facts.tsx";
import { liveNodes } from "../live_nodes.ts";
import {
  PromoteButton,
  ReleaseButton,
  RETRYABLE,
  RetryButton,
  RollbackButton,
} from "./deployment_actions.tsx";
import { useLoad } from "../load.ts";
import { LogView } from "./log_view.tsx";
import { StatusPosts } from "./status_posts.tsx";
import { Notifications } from "./notifications.tsx";

export function DeploymentView({ id }: { id: string }) {
  const dep = useSignal<Deployment | undefined>(undefined);
  const error = useSignal<string | null>(null);
  const lines = useSignal<LogLine[]>([]);
  const stream = useSignal<StreamState | "stored" | "">("");
  const retryIn = useSignal<number | undefined>(undefined);
  const confirming = useSignal(false);
  const notFound = useSignal(false);
  /** When the live stream dropped (while it stays down): the page is stale from then on. */
  const lostAt = useSignal<number | undefined>(undefined);

  useEffect(() => {
    let closed = false;
    let follower: { close(): void } | undefined;
    const refresh = async () => {
      try {
        const d = await api.deployment(id);
        if (closed) return;
        dep.value = d;
        error.value = null;
      } catch (e) {
        if (!closed) error.value = describeError(e);
      }
    };
    dep.value = undefined;
    lines.value = [];
    error.value = null;
    notFound.value = false;
    (async () => {
      try {
        const d = await api.deployment(id);
        if (closed) return;
        dep.value = d;
        if (ACTIVE.includes(d.status)) {
          follower = followEvents({
            open: (last) => api.events(id, last),
            // Lines arrive in bursts; render them in batches, not one by one.
            onLines: (batch) => (lines.value = lines.value.concat(batch)),
            batchMs: 50,
            onStatus: (s) => (dep.value = s),
            onEnd: () => refresh(),
            onState: (s, retry) => {
              stream.value = s;
              retryIn.value = retry;
              // The clock and Cancel stop while despacito cannot be heard; back live, catch up.
              if (s === "reconnecting") lostAt.value ??= Date.now();
              if (s === "live" && lostAt.value !== undefined) {
                lostAt.value = undefined;
                refresh();
              }
              // A dropped stream may mean a lost session: a plain request finds out (401 → sign-in).
              if (s === "reconnecting" && retry !== undefined) refresh();
            },
          });
        } else {
          const stored = await api.deploymentLines(id);
          if (closed) return;
          lines.value = stored.lines;
          stream.value = "stored";
        }
      } catch (e) {
        if (closed) return;
        if (e instanceof ApiError && e.status === 404) notFound.value = true;
        else error.value = describeError(e);
      }
    })();
    return () => {
      closed = true;
      follower?.close();
    };
  }, [id]);

  const title = dep.value ? `${dep.value.package} ${dep.value.version}` : "";
  useEffect(() => {
    if (title) document.title = `${title} · despacito`;
  }, [title]);

  const d = dep.value;
  if (!d && notFound.value) {
    return (
      <section>
        <h1>No such deployment</h1>
        <p>
          There is no deployment <code>{id}</code>.{" "}
          <Link href="/deployments">Go to the history</Link>.
        </p>
      </section>
    );
  }
  if (!d) return error.value ? <ErrorNote message={error.value} /> : <Loading />;
  const active = ACTIVE.includes(d.status);
  const lost = lostAt.value;
  return (
    <>
      <div class="title-row">
        <h1>
          {d.package} <span class="version">{d.version}</span>
        </h1>
        <Badge status={d.status} />
        {active && !d.cancel_requested && (
          <button
            type="button"
            class="danger"
            disabled={lost !== undefined}
            onClick={() => (confirming.value = true)}
          >
            Cancel deployment
          </button>
        )}
        {active && d.cancel_requested && <span class="muted" role="status">cancelling…</span>}
        {d.awaiting_promotion && !d.cancel_requested && (
          <PromoteButton
            d={d}
            onDone={() => api.deployment(d.id).then((n) => (dep.value = n))}
          />
        )}
        {RETRYABLE.includes(d.status) && <RetryButton d={d} />}
        {d.status === "deployed" && <RollbackButton d={d} />}
      </div>
      {lost === undefined && <ErrorNote message={error.value} />}
      {active && lost !== undefined && (
        <p class="warning" role="status">
          despacito does not answer: this page shows the deployment as it was{" "}
          <Time at={new Date(lost).toISOString()} />; the clock and Cancel wait until it answers.
        </p>
      )}
      {d.error && (
        <p class="error" role="status">
          <strong>{failureTitle(d)}</strong> {d.error}
        </p>
      )}
      {!active && d.status !== "deployed" && <HeldNote d={d} />}
      {d.awaiting_promotion && (
        <p class="note" role="status">
          Stage {d.awaiting_promotion}{" "}
          is done and waits for promotion: Promote goes on to the next stage, Cancel deployment
          rolls back.
        </p>
      )}
      <Request d={d} now={lost} />
      <Steps d={d} />
      {d.nodes && d.nodes.length > 0
        ? <Nodes d={d} />
        : active && <LiveNodes lines={lines.value} />}
      <Checks d={d} />
      <Rollback d={d} />
      {d.triggered_by?.kind === "forge" && <StatusPosts d={d} />}
      <Notifications d={d} />
      <section aria-labelledby="log-title">
        <div class="title-row">
          <h2 id="log-title">Log</h2>
          <StreamNote state={stream.value} retryIn={retryIn.value} />
        </div>
        <LogView
          key={d.id}
          lines={lines.value}
          download={{ href: api.logUrl(d.id), name: `${d.package}-${d.version}-${d.id}.log` }}
        />
      </section>
      {confirming.value && (
        <ConfirmDialog
          title="Cancel this deployment?"
          confirm="Cancel deployment"
          dismiss="Keep it running"
          onClose={() => (confirming.value = false)}
          onConfirm={async () => {
            await api.cancel(d.id);
            dep.value = await api.deployment(d.id);
          }}
        >
          <p>
            {d.package} {d.version}{" "}
            will stop: a queued one never runs; a running one has its git, nix or colmena process
            stopped, the lock change is reverted by a new commit, and every node that may already
            run the new version is activated again at the restored lock.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

const FAILURES: Record<string, string> = {
  activation_failed: "Activation failed.",
  activation_timeout: "Activation timed out.",
  check_failed: "A check failed.",
  version_mismatch: "The version does not name the locked revision.",
  nix_failed: "nix failed.",
  flake_dirty: "The flake repository is not clean.",
  tools_unusable: "git, nix or colmena cannot run.",
  package_held: "The package is held.",
  cancelled: "Cancelled.",
  interrupted: "Interrupted.",
};

/**
 * The banner's headline, from the machine-readable failure_code; the server's
 * `error` after it already names the failing nodes and the first real error line.
 */
export function failureTitle(d: Deployment): string {
  const code = d.failure_code;
  if (!code) return "";
  return FAILURES[code] ??
    (d.failure_kind === "error" ? "despacito could not do its part." : "It failed.");
}

/** This deployment left its package held: say so, and offer the release. */
function HeldNote({ d }: { d: Deployment }) {
  const packages = useLoad(api.packages, `${d.id} ${d.status}`);
  const held = packages.data.value?.packages.find((p) => p.name === d.package)?.held;
  if (!held || held.deployment_id !== d.id) return null;
  return (
    <p class="held" role="status">
      <Badge status="held" /> {d.package} is held: no deployment of it runs until it is released.
      {" "}
      <ReleaseButton pkg={d.package} held={held} onDone={packages.reload} />
    </p>
  );
}

/** While colmena runs: each node as it reports, before the server records the outcome. */
function LiveNodes({ lines }: { lines: LogLine[] }) {
  const nodes = liveNodes(lines);
  if (nodes.length === 0) return null;
  return (
    <section aria-labelledby="nodes-title">
      <h2 id="nodes-title">Nodes</h2>
      <NodeList nodes={nodes} />
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
