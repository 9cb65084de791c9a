/** A minimal Server-Sent Events reader for tests: yields {id, event, data} frames. */

export interface SseFrame {
  id?: string;
  event: string;
  data: string;
}

/** The complete frames at the start of `text` (comments and empty blocks skipped), and the rest. */
export function parseSse(text: string): { frames: SseFrame[]; rest: string } {
  const frames: SseFrame[] = [];
  let buf = text;
  let i;
  while ((i = buf.indexOf("\n\n")) >= 0) {
    const block = buf.slice(0, i);
    buf = buf.slice(i + 2);
    const frame: SseFrame = { event: "message", data: "" };
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const [k, ...rest] = line.split(":");
      const v = rest.join(":").replace(/^ /, "");
      if (k === "id") frame.id = v;
      else if (k === "event") frame.event = v;
      else if (k === "data") data.push(v);
    }
    if (data.length === 0 && frame.id === undefined) continue;
    frame.data = data.join("\n");
    frames.push(frame);
  }
  return { frames, rest: buf };
}

export async function* readSse(res: Response): AsyncGenerator<SseFrame> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const { frames, rest } = parseSse(buf + value);
      buf = rest;
      yield* frames;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
