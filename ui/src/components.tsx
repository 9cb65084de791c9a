/**
 * Small shared pieces: links, times, status badges, copy buttons, tables,
 * dialogs, error notes. Server text only ever reaches the page as text
 * children or attribute values, never as HTML.
 */

import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { signal, useSignal } from "@preact/signals";
import { navigate } from "./router.ts";
import { absoluteTime, relativeTime, shortTime } from "./time.ts";

/** Ticks every 15 s so relative times stay true. */
export const clock = signal(Date.now());
export function startClock(): void {
  setInterval(() => (clock.value = Date.now()), 15_000);
}

export function Link(
  props: { href: string; children: ComponentChildren; class?: string; current?: boolean },
) {
  return (
    <a
      href={props.href}
      class={props.class}
      aria-current={props.current ? "page" : undefined}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

/**
 * Relative, with the absolute time beside it (phones cannot hover): short
 * ("14:02", "26 Nov, 14:02"), or `full` with seconds and zone; the full one
 * is also the hover title.
 */
export function Time({ at, full }: { at: string | null | undefined; full?: boolean }) {
  if (!at) return <span class="muted">—</span>;
  return (
    <time dateTime={at} title={absoluteTime(at)}>
      {relativeTime(at, clock.value)}
      <span class="muted aside">
        {full ? absoluteTime(at) : `(${shortTime(at, clock.value)})`}
      </span>
    </time>
  );
}

export function Badge({ status }: { status: string | null | undefined }) {
  if (!status) return <span class="muted">—</span>;
  return <span class={`badge badge-${status.replace(/[^a-z_]/g, "")}`}>{status}</span>;
}

/**
 * A button that copies `text`. Its visible label is `label`; `name`, when the
 * label alone would not say what is copied (several "Copy" on one screen),
 * is the accessible name, starting with the label so speech input still
 * finds it ("Copy rev of webapp").
 */
export function CopyButton(
  { text, label = "Copy", name }: { text: string; label?: string; name?: string },
) {
  const done = useSignal<"" | "Copied" | "Copy failed">("");
  return (
    <button
      type="button"
      class="small"
      aria-label={name && !done.value ? name : undefined}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          done.value = "Copied";
        } catch {
          done.value = "Copy failed";
        }
        setTimeout(() => (done.value = ""), 2000);
      }}
    >
      {done.value || label}
      <span class="sr-only" aria-live="polite">{done.value}</span>
    </button>
  );
}

/**
 * A long id or hash: shortened, the whole value on hover, with a copy button
 * named after `what` ("rev of webapp" → "Copy rev of webapp"): unique on its screen.
 */
export function Short(
  { value, size = 12, what }: { value: string | null | undefined; size?: number; what: string },
) {
  if (!value) return <span class="muted">—</span>;
  return (
    <span class="short">
      <code title={value}>{shorten(value, size)}</code>
      <CopyButton text={value} name={`Copy ${what}`} />
    </span>
  );
}

/** "/nix/store/<hash>-name" → "<first 8 of hash>…-name"; other values cut at `size`. */
export function shorten(value: string, size: number): string {
  const store = /^\/nix\/store\/([0-9a-z]{32})-(.+)$/.exec(value);
  if (store) return `${store[1].slice(0, 8)}…-${store[2]}`;
  return value.length > size ? value.slice(0, size) : value;
}

/**
 * A table of rows: the scrolling wrapper, a header row from `columns` and the
 * body rows the caller gives. On a phone `table.stack` (style.css) turns each
 * row into a card, so the caller's `<td>`s carry `data-label`; the row's own
 * `<th scope="row">` is the card's title. A column such as the one holding a
 * row's buttons has a heading only screen readers see: `{ srOnly: "Actions" }`.
 */
export function Table(
  props: { columns: (string | { srOnly: string })[]; children: ComponentChildren },
) {
  return (
    <div class="table-wrap">
      <table class="stack">
        <thead>
          <tr>
            {props.columns.map((c, i) => (
              <th key={i} scope="col">
                {typeof c === "string" ? c : <span class="sr-only">{c.srOnly}</span>}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

/**
 * A paged list screen's body, the same on History and Audit: the error, a
 * loading line until the first page, the empty text, the table, and the
 * Newest/Older pager (a cursor set means an older page is shown).
 */
export function PagedTable<T>(props: {
  rows: T[] | null | undefined;
  error: string | null | undefined;
  empty: string;
  columns: (string | { srOnly: string })[];
  row: (r: T) => ComponentChildren;
  older: string | null | undefined;
  showingOlder: boolean;
  go: (cursor: string | undefined) => void;
}) {
  const { rows } = props;
  return (
    <>
      <ErrorNote message={props.error} />
      {!rows && !props.error && <Loading />}
      {rows && rows.length === 0 && <p class="muted">{props.empty}</p>}
      {rows && rows.length > 0 && <Table columns={props.columns}>{rows.map(props.row)}</Table>}
      <nav class="pager" aria-label="Pages">
        {props.showingOlder && (
          <button type="button" onClick={() => props.go(undefined)}>Newest</button>
        )}
        {props.older && <button type="button" onClick={() => props.go(props.older!)}>Older</button>}
      </nav>
    </>
  );
}

export function ErrorNote({ message }: { message: string | null | undefined }) {
  if (!message) return null;
  return <p class="error" role="alert">{message}</p>;
}

export function Loading() {
  return <p class="muted" aria-busy="true">Loading…</p>;
}

/**
 * A modal <dialog>: focus is trapped by the browser, Escape closes it. When it
 * goes, focus returns to what opened it, if that is still on the page: Chromium
 * left it on <body> for these dialogs (they leave the DOM as they close), and
 * a keyboard user would start over from the top (tests/ui_a11y_test.ts).
 */
export function Dialog(
  props: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean },
) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    const opener = document.activeElement;
    if (d && !d.open) d.showModal();
    return () => {
      d?.close();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class={props.wide ? "wide" : undefined}
      aria-labelledby="dialog-title"
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <h2 id="dialog-title">{props.title}</h2>
      {props.children}
    </dialog>
  );
}

export function ConfirmDialog(props: {
  title: string;
  confirm: string;
  /** The button that closes without doing anything; never "Cancel" next to "Cancel deployment". */
  dismiss?: string;
  /** The confirm button is not a destructive one. */
  plain?: boolean;
  children: ComponentChildren;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      {props.children}
      <ErrorNote message={error.value} />
      <div class="actions">
        <button type="button" onClick={props.onClose}>{props.dismiss ?? "Cancel"}</button>
        <button
          type="button"
          class={props.plain ? "primary" : "danger"}
          disabled={busy.value}
          onClick={async () => {
            busy.value = true;
            error.value = null;
            try {
              await props.onConfirm();
              props.onClose();
            } catch (e) {
              error.value = e instanceof Error ? e.message : String(e);
            } finally {
              busy.value = false;
            }
          }}
        >
          {props.confirm}
        </button>
      </div>
    </Dialog>
  );
}
