/**
 * P7's subscribers (bench/deploy_metrics.ts), in a process of their own so
 * their parsing does not run on despacito's thread: COUNT Server-Sent Events
 * streams of one deployment, each checking that the `id:`s are consecutive
 * and that the fake colmena's numbered lines ("bench line i of N") arrive
 * each once, in order, until the `end` event.
 *
 *   deno run --allow-net bench/sse_subscribers.ts EVENTS_URL TOKEN COUNT LINES
 *
 * Prints `ready` once every stream is open (the deployment may start), then
 * one JSON line: {"complete": subscribers that got all LINES lines in order,
 * "failures": the first few problems, "lastEndAt": epoch ms of the last `end`,
 * "cpuMs": the CPU time this process used}.
 */

import process from "node:process";

const [url, token, countArg, linesArg] = Deno.args;
const count = Number(countArg);
const lines = Number(linesArg);
if (!url || !token || !(count >= 1) || !(lines >= 0)) {
  throw new Error("usage: sse_subscribers.ts EVENTS_URL TOKEN COUNT LINES");
}
const MARK = '"line":"bench line ';
const failures: string[] = [];
let lastEndAt = 0;

/** The decimal number at `at` in `s`. */
function numberAt(s: string, at: number): number {
  let v = 0;
  for (let c = s.charCodeAt(at); c >= 48 && c <= 57; c = s.charCodeAt(++at)) v = v * 10 + c - 48;
  return v;
}

/** Reads one stream to its `end`; returns the problem, or null when every line came in order. */
async function follow(res: Response, n: number): Promise<string | null> {
  // The body's bytes decoded here rather than through a TextDecoderStream: the same text, one
  // stream hop per chunk less.
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  let lastId = -1;
  let next = 1;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return `subscriber ${n}: stream closed before end (line ${next} next)`;
      buf += decoder.decode(value, { stream: true });
      // Positions, not a slice per frame: one chunk may hold hundreds of frames, and this
      // process shares the machine's CPU with the deployment it measures.
      let at = 0;
      let i;
      let mark = buf.indexOf(MARK);
      while ((i = buf.indexOf("\n\n", at)) >= 0) {
        const start = at;
        at = i + 2;
        if (buf.charCodeAt(start) === 58) continue; // ":" keepalive
        if (buf.startsWith("event: end", start)) {
          lastEndAt = Math.max(lastEndAt, Date.now());
          return next === lines + 1
            ? null
            : `subscriber ${n}: end after ${next - 1} of ${lines} lines`;
        }
        const id = numberAt(buf, buf.lastIndexOf("\nid: ", i) + 5);
        if (lastId >= 0 && id !== lastId + 1) return `subscriber ${n}: id ${id} after ${lastId}`;
        lastId = id;
        while (mark >= 0 && mark < start) mark = buf.indexOf(MARK, mark + 1);
        if (mark < 0 || mark > i) continue;
        const k = numberAt(buf, mark + MARK.length);
        if (k !== next) return `subscriber ${n}: line ${k} where ${next} was due`;
        next++;
      }
      buf = buf.slice(at);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

const opened = await Promise.all(
  Array.from({ length: count }, async (_, n) => {
    const res = await fetch(url, {
      headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream" },
    });
    if (res.status !== 200) throw new Error(`subscriber ${n}: ${res.status} ${await res.text()}`);
    return { res, n };
  }),
);
const say = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(`${line}\n`));
say("ready");
const results = await Promise.all(opened.map(({ res, n }) => follow(res, n)));
for (const r of results) if (r && failures.length < 5) failures.push(r);
const { user, system } = process.cpuUsage();
say(JSON.stringify({
  complete: results.filter((r) => r === null).length,
  failures,
  lastEndAt,
  cpuMs: Math.round((user + system) / 1000),
}));
