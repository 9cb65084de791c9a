/**
 * What an operator can ask of a deployment or a package besides cancel:
 * roll back to a version that deployed, retry one that did not finish,
 * release a held package. Each asks first, in a dialog that says exactly
 * what will happen; the dialog's other button never reads "Cancel" (it sits
 * next to "Cancel deployment" on the deployment page).
 */

import type { JSX } from "preact";
import { useSignal } from "@preact/signals";
import { api } from "../api.ts";
import { ConfirmDialog, shorten, Time } from "../components.tsx";
import { navigate } from "../router.ts";
import type { Deployment, Package } from "../types.ts";

/** failed, cancelled and interrupted deployments may be asked for again. */
export const RETRYABLE = ["failed", "cancelled", "interrupted"];

/** A button that opens its confirmation dialog; `small` in table rows. */
function Asking(props: {
  label: string;
  small?: boolean;
  dialog: (close: () => void) => JSX.Element;
}) {
  const open = useSignal(false);
  return (
    <>
      <button
        type="button"
        class={props.small ? "small" : undefined}
        onClick={() => (open.value = true)}
      >
        {props.label}
      </button>
      {open.value && props.dialog(() => (open.value = false))}
    </>
  );
}

/** "Roll back to this version": a new rollback deployment to what `d` locked. */
export function RollbackButton({ d, small }: { d: Deployment; small?: boolean }) {
  return (
    <Asking
      label="Roll back to this version"
      small={small}
      dialog={(close) => (
        <ConfirmDialog
          title={`Roll ${d.package} back to ${d.version}?`}
          confirm="Roll back"
          dismiss="Don't roll back"
          onClose={close}
          onConfirm={async () => {
            const q = await api.rollback(d.package, d.id);
            navigate(`/deployments/${q.deployment_id}`);
          }}
        >
          <p>
            despacito queues a new deployment of {d.package} {d.version}{" "}
            (a rollback) that pins the flake input to revision{" "}
            <code title={d.locked_rev ?? ""}>{shorten(d.locked_rev ?? "—", 12)}</code>, the one this
            deployment locked, commits the lock and activates it on{" "}
            {d.targets ? <code>{d.targets}</code> : "every node"}.
          </p>
          <p>
            It waits its turn in the queue and runs every step and check like any deployment. If it
            fails, the nodes go back to what they run now.
          </p>
        </ConfirmDialog>
      )}
    />
  );
}

/** "Retry": the same request again, as a new deployment. */
export function RetryButton({ d }: { d: Deployment }) {
  return (
    <Asking
      label="Retry"
      dialog={(close) => (
        <ConfirmDialog
          title={`Retry ${d.package} ${d.version}?`}
          confirm="Retry deployment"
          dismiss="Don't retry"
          plain
          onClose={close}
          onConfirm={async () => {
            const q = await api.retry(d.id);
            navigate(`/deployments/${q.deployment_id}`);
          }}
        >
          <p>
            despacito queues a new deployment with the same request: {d.package} {d.version}
            {d.flake_ref
              ? (
                <>
                  , flake ref <code class="wrap">{d.flake_ref}</code>
                </>
              )
              : null}
            {d.nix_store_path
              ? (
                <>
                  , store path <code>{shorten(d.nix_store_path, 12)}</code>
                </>
              )
              : null}
            . It waits its turn in the queue and runs every step and check again; this {d.status}
            {" "}
            deployment stays in the history as it is.
          </p>
        </ConfirmDialog>
      )}
    />
  );
}

/** "Release": ends a package's hold; nothing on the nodes changes. */
export function ReleaseButton(
  { pkg, held, onDone }: {
    pkg: string;
    held: NonNullable<Package["held"]>;
    onDone: () => void;
  },
) {
  return (
    <Asking
      label="Release"
      small
      dialog={(close) => (
        <ConfirmDialog
          title={`Release ${pkg}?`}
          confirm={`Release ${pkg}`}
          dismiss="Keep it held"
          onClose={close}
          onConfirm={async () => {
            await api.release(pkg);
            onDone();
          }}
        >
          <p>
            {pkg} has been held since <Time at={held.held_at} />: {held.reason}
          </p>
          <p>
            Releasing only lets deployments of {pkg}{" "}
            run again. despacito changes nothing on the nodes: first check on the Fleet page which
            node runs what and put them right; the next deployment activates on all of them.
          </p>
        </ConfirmDialog>
      )}
    />
  );
}

/** "Promote": a deployment paused after a manual stage goes on to the next stage. */
export function PromoteButton({ d, onDone }: { d: Deployment; onDone: () => void }) {
  return (
    <Asking
      label="Promote"
      dialog={(close) => (
        <ConfirmDialog
          title={`Promote ${d.package} ${d.version} past ${d.awaiting_promotion}?`}
          confirm="Promote"
          dismiss="Keep waiting"
          plain
          onClose={close}
          onConfirm={async () => {
            await api.promote(d.id);
            onDone();
          }}
        >
          <p>
            Stage {d.awaiting_promotion}{" "}
            passed its checks. despacito goes on to the next stage: it activates {d.package}{" "}
            {d.version}{" "}
            on that stage's nodes and runs its checks. If any stage fails later, every node this
            deployment activated, {d.awaiting_promotion} included, is rolled back.
          </p>
          <p>
            To stop here instead, use Cancel deployment: the nodes of the stages already activated
            go back to what they ran before.
          </p>
        </ConfirmDialog>
      )}
    />
  );
}
