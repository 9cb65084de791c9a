/** The log pane: follows new lines until the operator scrolls up, and offers to follow again. */

import { useLayoutEffect, useRef } from "preact/hooks";
import { useSignal } from "@preact/signals";
import type { LogLine } from "../types.ts";

const NEAR_BOTTOM_PX = 24;

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
          <div key={l.seq} class={`line ${l.stream}`} data-seq={l.seq}>{l.line}</div>
        ))}
      </div>
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
