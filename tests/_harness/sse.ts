/** A minimal Server-Sent Events reader for tests: yields {id, event, data} frames. */

export interface SseFrame {
  id?: string;
  event: string;
  data: string;
}

export async function* readSse(res: Response): AsyncGenerator<SseFrame> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
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
        yield frame;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
