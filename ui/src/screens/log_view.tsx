/**
 * The log pane: follows new lines until the operator scrolls up, and offers
 * to follow again. stderr looks like stdout (colmena and nix report progress
 * there); lines that read like an error are marked, and "First error" jumps
 * to the first of them.
 */

import { useLayoutEffect, useRef } from "preact/hooks";
import { useSignal } from "@preact/signals";
import type { LogLine } from "../types.ts";

const NEAR_BOTTOM_PX = 24;

/** nix's `error:`, colmena's `[ERROR]` and "Activation failed", despacito's `failed:`. */
const ERROR_LINE = /(^|\s|\[)(error:|\[ERROR\]|\w+ failed:)|^failed: |Activation failed/;

export function LogView({ lines }: { lines: LogLine[] }) {
  const ref = useRef<HTMLDivElement>(null);
  const follow = useSignal(true);
  const toBottom = () => {
    const el = ref.current;
    if (el) el.scrollTop = el.scrollHeight;
  };
  useLayoutEffect(() => {
    if (follow.value) toBottom();
  }, [lines.length]);
  return (
    <div class="log-wrap">
      <div
        ref={ref}
        class="log"
        role="log"
        tabIndex={0}
        aria-label="Deployment log"
        data-following={follow.value ? "true" : "false"}
        onScroll={() => {
          const el = ref.current;
          if (!el) return;
          follow.value = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
        }}
      >
        {lines.length === 0 && <div class="muted">No output yet.</div>}
        {lines.map((l) => (
          <div
            key={l.seq}
            class={`line ${l.stream}`}
            data-seq={l.seq}
            data-error={ERROR_LINE.test(l.line) ? "" : undefined}
          >
            {l.line}
          </div>
        ))}
      </div>
      {lines.some((l) => ERROR_LINE.test(l.line)) && (
        <button
          type="button"
          class="small first-error"
          onClick={() => {
            const el = ref.current?.querySelector<HTMLElement>("[data-error]");
            if (!el || !ref.current) return;
            follow.value = false;
            ref.current.scrollTop = el.offsetTop - ref.current.offsetTop - 8;
          }}
        >
          First error
        </button>
      )}
      {!follow.value && (
        <button
          type="button"
          class="small follow"
          onClick={() => {
            follow.value = true;
            toBottom();
          }}
        >
          Follow new lines ↓
        </button>
      )}
    </div>
  );
}
