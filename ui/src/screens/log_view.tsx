/**
 * The log pane: colmena's and nix's ANSI colours (as classes, ansi.ts),
 * line numbers that link to `#L<n>` (click one; opening such a URL scrolls
 * to the line and marks it), timestamps on demand, a node filter, search
 * with next/previous, "First error" and "Download raw". It follows new lines
 * until the operator scrolls up, and offers to follow again. stderr looks
 * like stdout (colmena and nix report progress there); only lines that read
 * like an error are marked.
 *
 * Fast with 20,000 lines: lines are rendered in blocks that re-render only
 * when they change (a new line touches the last block only), a long log
 * arriving at once is rendered from its end, block by block, and the
 * browser skips the layout and paint of the blocks out of view but the
 * last (`content-visibility: auto` in style.css) — every line stays in the
 * document, so the browser's own find and the tests still see them all.
 * Numbers and times are CSS generated content from data attributes: no
 * extra element per line, and copying the log copies only its text.
 *
 * The keyboard reaches the numbers through one link, `Line <n>`, on one line
 * (a roving tab stop, not 20,000): the marked line, else the first line in
 * view. ↑ ↓, Page Up/Down, Home and End move it from line to line; Enter or
 * Space links to its line, as a click on a number does.
 */

import { Component } from "preact";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { info, lineFromHash, lineMove, nodesOf, searchHits } from "../log_lines.ts";
import type { LogLine } from "../types.ts";

const NEAR_BOTTOM_PX = 24;
const BLOCK = 200;

export function LogView(
  { lines, download }: { lines: LogLine[]; download?: { href: string; name: string } },
) {
  const ref = useRef<HTMLDivElement>(null);
  const follow = useSignal(true);
  const node = useSignal("");
  const query = useSignal("");
  const cur = useSignal(0);
  const ts = useSignal(false);
  const mark = useSignal(lineFromHash(location.hash));
  // The line holding the keyboard's link (1-based); undefined: the last line shown.
  const stop = useSignal(mark.value);
  // The link moved by a key: focus it once drawn.
  const focusStop = useRef(false);
  // A line to scroll to once it is on the page (from the URL, or hidden by the node filter).
  const target = useRef(mark.value);
  // The search changed: show its first match once rendered.
  const jump = useRef(false);
  // A long log arriving at once (a stored one): its last blocks first, then the others from the
  // end upwards a few per task, so the first paint does not wait for 20,000 lines. Blocks below
  // `lazy` are placeholders of the same height; `pin` is one rendered out of turn (revealed).
  const lazy = useRef(-1);
  const pin = useRef(-1);
  const [, redraw] = useState(0);
  if (lines.length === 0) lazy.current = -1;
  else if (lazy.current < 0) lazy.current = Math.max(0, Math.ceil(lines.length / BLOCK) - 2);
  useEffect(() => {
    if (lazy.current <= 0) return;
    const t = setTimeout(() => {
      lazy.current = Math.max(0, lazy.current - 2);
      redraw((x) => x + 1);
    });
    return () => clearTimeout(t);
  });

  const nodes = useMemo(() => nodesOf(lines), [lines]);
  const shown = useMemo(() => {
    if (!node.value) return null;
    const idx: number[] = [];
    lines.forEach((l, i) => info(l).node === node.value && idx.push(i));
    return idx;
  }, [lines, node.value]);
  const hits = useMemo(() => searchHits(lines, shown, query.value), [lines, shown, query.value]);
  const firstError = useMemo(() => lines.findIndex((l) => info(l).err), [lines]);
  const count = shown ? shown.length : lines.length;
  const hitSet = new Set(hits);
  const curAt = hits.length ? hits[Math.min(cur.value, hits.length - 1)] : -1;

  const el = (n: number) => ref.current?.querySelector<HTMLElement>(`[data-n="${n}"]`);
  /** Scrolls the log (not the page) to line n (1-based, unfiltered), clearing a filter hiding it. */
  const reveal = (n: number) => {
    follow.value = false;
    const log = ref.current;
    if (!el(n) || !log) {
      // Hidden by the node filter, or in a block not rendered yet.
      let i = shown ? shown.indexOf(n - 1) : n - 1;
      if (i < 0) [node.value, i] = ["", n - 1];
      pin.current = Math.floor(i / BLOCK);
      target.current = n;
      redraw((x) => x + 1);
      return;
    }
    const adjust = () => {
      const line = el(n);
      if (!line) return;
      const top = line.getBoundingClientRect().top - log.getBoundingClientRect().top;
      log.scrollTop += top - log.clientHeight / 3;
    };
    adjust();
    // Blocks rendered for the first time on the way may be taller than estimated: once more.
    requestAnimationFrame(adjust);
  };
  const toBottom = () => {
    const log = ref.current;
    if (log) log.scrollTop = log.scrollHeight;
  };
  const numberOf = (i: number) => (shown ? shown[i] : i) + 1;
  const indexOf = (n: number) => shown ? shown.indexOf(n - 1) : n <= count ? n - 1 : -1;
  const stopAt = stop.value === undefined ? -1 : indexOf(stop.value);
  const stopI = stopAt >= 0 ? stopAt : count - 1;
  const anchor = (n: number) => {
    history.replaceState(history.state, "", `#L${n}`);
    mark.value = stop.value = n;
  };
  const onLinkKey = (e: KeyboardEvent) => {
    const log = ref.current;
    const line = log && el(numberOf(stopI));
    if (e.key === " ") {
      e.preventDefault();
      anchor(numberOf(stopI));
      return;
    }
    const page = log && line
      ? Math.max(1, Math.floor(log.clientHeight / line.offsetHeight) - 1)
      : 1;
    const to = lineMove(e.key, stopI, count, page);
    if (to === undefined) return;
    e.preventDefault();
    follow.value = false;
    stop.value = numberOf(to);
    focusStop.current = true;
    if (!el(numberOf(to))) reveal(numberOf(to)); // in a block not drawn yet
  };
  const step = (d: number) => {
    if (!hits.length) return;
    cur.value = (Math.min(cur.value, hits.length - 1) + d + hits.length) % hits.length;
    reveal(numberOf(hits[cur.value]));
  };

  useLayoutEffect(() => {
    if (focusStop.current) {
      const link = ref.current?.querySelector<HTMLElement>("a.ln");
      if (link) {
        focusStop.current = false;
        link.focus();
      }
    }
    const n = target.current;
    if (n !== undefined && n <= lines.length && el(n)) {
      target.current = undefined;
      // From the URL: bring the log into view too.
      if (n === mark.value) ref.current?.scrollIntoView({ block: "start" });
      reveal(n);
    } else if (
      n !== undefined && n <= lines.length && pin.current !== Math.floor((n - 1) / BLOCK)
    ) {
      reveal(n); // its block is not drawn yet, or a filter hides it: once
    } else if (jump.current) {
      jump.current = false;
      if (curAt >= 0) reveal(numberOf(curAt));
    } else if (follow.value) toBottom();
  });

  useEffect(() => {
    const onHash = () => {
      const n = lineFromHash(location.hash);
      if (n === undefined) return;
      mark.value = stop.value = n;
      reveal(n);
    };
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);

  const v = `${node.value}\n${query.value}\n${curAt}\n${ts.value}\n${mark.value}`;
  // A block keeps the handler of the render that last drew it: hand it one that reads the latest.
  const linkKey = useRef(onLinkKey);
  linkKey.current = onLinkKey;
  const link = {
    n: numberOf(stopI),
    onKeyDown: (e: KeyboardEvent) => linkKey.current(e),
    onClick: anchor,
    // Focused on the last line: it stays there as new lines arrive.
    onFocus: (n: number) => (stop.value ??= n),
  };
  const blocks = [];
  for (let from = 0; from < count; from += BLOCK) {
    blocks.push(
      <Block
        key={from}
        {...{ lines, shown, from, v, hitSet, curAt, mark: mark.value, ts: ts.value }}
        link={stopI >= from && stopI < from + BLOCK ? link : undefined}
        to={Math.min(count, from + BLOCK)}
        last={from + BLOCK >= count}
        lazy={from / BLOCK < lazy.current && from / BLOCK !== pin.current}
      />,
    );
  }

  return (
    <div class="log-wrap">
      <div class="log-tools">
        {nodes.length > 0 && (
          <select
            aria-label="Node filter"
            value={node.value}
            onChange={(e) => (node.value = e.currentTarget.value)}
          >
            <option value="">All nodes</option>
            {nodes.map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        )}
        <input
          type="search"
          aria-label="Search the log"
          placeholder="Search"
          value={query.value}
          onInput={(e) => {
            query.value = e.currentTarget.value;
            cur.value = 0;
            jump.current = true;
          }}
          onKeyDown={(e) => e.key === "Enter" && step(e.shiftKey ? -1 : 1)}
        />
        <button type="button" class="small" aria-label="Previous match" onClick={() => step(-1)}>
          ↑
        </button>
        <button type="button" class="small" aria-label="Next match" onClick={() => step(1)}>
          ↓
        </button>
        {query.value && (
          <span class="muted" role="status">
            {hits.length ? `${hits.indexOf(curAt) + 1} of ${hits.length}` : "no match"}
          </span>
        )}
        <label class="inline">
          <input
            type="checkbox"
            checked={ts.value}
            onChange={(e) => (ts.value = e.currentTarget.checked)}
          />
          Timestamps
        </label>
        {firstError >= 0 && (
          <button
            type="button"
            class="small"
            onClick={() => reveal(firstError + 1)}
          >
            First error
          </button>
        )}
        {download && <a href={download.href} download={download.name}>Download raw</a>}
      </div>
      <div
        ref={ref}
        class={ts.value ? "log ts" : "log"}
        role="log"
        tabIndex={0}
        aria-label="Deployment log"
        data-following={follow.value ? "true" : "false"}
        onScroll={() => {
          const log = ref.current;
          if (!log) return;
          follow.value = log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_BOTTOM_PX;
        }}
        onScrollEnd={() => {
          // Scrolled by other means than the link: Tab finds it on the first line in view.
          const log = ref.current;
          if (!log || document.activeElement?.matches(".log a.ln")) return;
          const r = log.getBoundingClientRect();
          let line = document.elementFromPoint(r.left + r.width / 2, r.top + 16)
            ?.closest<HTMLElement>(".line");
          // Cut at the top: the next one, wholly in view.
          if (line && line.getBoundingClientRect().top < r.top + 8) {
            line = line.nextElementSibling as HTMLElement | null ?? line;
          }
          const n = Number(line?.dataset.n);
          if (n) stop.value = n;
        }}
        onClick={(e) => {
          // A click on a line's number (its left padding) links to the line.
          const t = e.target as HTMLElement;
          if (!t.dataset.n || e.offsetX > parseFloat(getComputedStyle(t).paddingLeft)) return;
          anchor(Number(t.dataset.n));
        }}
      >
        {lines.length === 0 && <div class="muted">No output yet.</div>}
        {blocks}
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

interface BlockProps {
  lines: LogLine[];
  shown: number[] | null;
  from: number;
  to: number;
  /** Changes whenever what every block shows changes (filter, search, marks, timestamps). */
  v: string;
  hitSet: Set<number>;
  curAt: number;
  mark: number | undefined;
  ts: boolean;
  last: boolean;
  /** Not rendered yet: a placeholder as tall as BLOCK lines. */
  lazy: boolean;
  /** The keyboard's link, when its line is in this block. */
  link?: StopLink;
}

interface StopLink {
  n: number;
  onKeyDown: (e: KeyboardEvent) => void;
  onClick: (n: number) => void;
  onFocus: (n: number) => void;
}

/** Up to BLOCK lines; re-rendered only when its own lines or the view's settings change. */
class Block extends Component<BlockProps> {
  override shouldComponentUpdate(p: BlockProps) {
    const o = this.props;
    return p.to !== o.to || p.v !== o.v || p.lines[0] !== o.lines[0] || p.shown !== o.shown ||
      p.last !== o.last || p.lazy !== o.lazy || p.link?.n !== o.link?.n;
  }

  override render(
    { lines, shown, from, to, hitSet, curAt, mark, ts, last, lazy, link }: BlockProps,
  ) {
    if (lazy) return <div class="blk ph" />;
    const rows = [];
    for (let i = from; i < to; i++) {
      const n = shown ? shown[i] : i;
      const l = lines[n];
      const { segs, err } = info(l);
      rows.push(
        <div
          key={l.seq}
          class={`line ${l.stream}`}
          data-seq={l.seq}
          data-n={n + 1}
          data-at={ts ? clock(l.at) : undefined}
          data-error={err ? "" : undefined}
          data-hit={hitSet.has(i) ? "" : undefined}
          data-current={i === curAt ? "" : undefined}
          data-mark={mark === n + 1 ? "" : undefined}
        >
          {link?.n === n + 1 && (
            // Over the number, no text of its own: copying and reading the log stay the same.
            <a
              class="ln"
              href={`#L${n + 1}`}
              aria-label={`Line ${n + 1}`}
              onKeyDown={link.onKeyDown}
              onFocus={() => link.onFocus(n + 1)}
              onClick={(e) => {
                e.preventDefault();
                link.onClick(n + 1);
              }}
            />
          )}
          {segs.map((s, k) => s.cls ? <span key={k} class={s.cls}>{s.text}</span> : s.text)}
        </div>,
      );
    }
    // The last block is always laid out: following the end must not land in an estimate.
    return <div class={last ? "blk" : "blk cv"}>{rows}</div>;
  }
}

/** Local wall-clock time of a line, to the second. */
function clock(at: string): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? "" : d.toTimeString().slice(0, 8);
}
