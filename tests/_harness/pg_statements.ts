/**
 * Counts the statements a client sends to PostgreSQL: a TCP proxy in front of
 * the server (tcp_proxy.ts) reads the frontend side of the wire protocol and
 * records each statement executed — a simple Query, or an Execute of the
 * extended protocol, named by the text of the statement its Bind used — in
 * the order they were sent. Bytes pass through untouched. For tests that
 * keep a code path's round trips from growing back (issue 14).
 */

import { startTcpProxy } from "./tcp_proxy.ts";

export interface StatementLog {
  /** The database URI through the proxy. */
  uri: string;
  /** Every statement sent so far, in order (across connections, by arrival). */
  statements(): string[];
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;

export function logStatements(uri: string): StatementLog {
  const target = new URL(uri);
  const sent: string[] = [];
  const proxy = startTcpProxy(
    { hostname: target.hostname, port: Number(target.port || 5432) },
    () => {
      const prepared = new Map<string, string>();
      let bound = "";
      let startup = true;
      let pending = new Uint8Array(0);
      const text = (b: Uint8Array, from: number) => {
        const end = b.indexOf(0, from);
        return { value: new TextDecoder().decode(b.subarray(from, end)), next: end + 1 };
      };
      return (chunk) => {
        const buf = new Uint8Array(pending.length + chunk.length);
        buf.set(pending);
        buf.set(chunk, pending.length);
        const view = new DataView(buf.buffer);
        let off = 0;
        for (;;) {
          if (startup) {
            // The startup packet (or an SSL/GSS request before it) has no type byte.
            if (buf.length - off < 8) break;
            const len = view.getInt32(off);
            if (buf.length - off < len) break;
            const code = view.getInt32(off + 4);
            if (code !== SSL_REQUEST && code !== GSS_REQUEST) startup = false;
            off += len;
            continue;
          }
          if (buf.length - off < 5) break;
          const type = String.fromCharCode(buf[off]);
          const len = view.getInt32(off + 1);
          if (buf.length - off < len + 1) break;
          const body = buf.subarray(off + 5, off + 1 + len);
          if (type === "Q") sent.push(text(body, 0).value);
          else if (type === "P") {
            const name = text(body, 0);
            prepared.set(name.value, text(body, name.next).value);
          } else if (type === "B") {
            const portal = text(body, 0);
            bound = prepared.get(text(body, portal.next).value) ?? "?";
          } else if (type === "E") sent.push(bound);
          off += len + 1;
        }
        pending = buf.slice(off);
      };
    },
  );
  const through = new URL(uri);
  through.hostname = "127.0.0.1";
  through.port = String(proxy.port);
  return { uri: through.toString(), statements: () => [...sent], close: () => proxy.close() };
}
