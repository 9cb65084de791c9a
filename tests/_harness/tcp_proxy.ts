/**
 * A TCP proxy on a free loopback port in front of a server, for tests that
 * must break a browser's connection the way a network does: `cut()` closes
 * every open connection mid-stream (both directions), `hold()` keeps new
 * connections waiting unanswered until `resume()` — so a test can decide
 * what happens while a client is disconnected, and `refuse()` makes the
 * server unreachable (every connection closed at once, as a stopped server
 * would) until `accept()`. Bytes pass through untouched
 * (no HTTP parsing, no buffering beyond one read).
 */

export interface TcpProxy {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  /** Closes all open connections now; returns how many there were. */
  cut(): number;
  /** New connections are accepted but wait, unforwarded, until resume(). */
  hold(): void;
  resume(): void;
  /** Cuts every connection and closes each new one unanswered until accept(). */
  refuse(): void;
  accept(): void;
  close(): Promise<void>;
}

export function startTcpProxy(
  target: { hostname: string; port: number },
  /** Called per connection; the function it returns sees every chunk the client sends. */
  tap?: () => (chunk: Uint8Array) => void,
): TcpProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const open = new Set<Deno.Conn>();
  const pipes = new Set<Promise<void>>();
  let accepted = 0;
  let held: PromiseWithResolvers<void> | undefined;
  let refusing = false;

  const closeQuietly = (c: Deno.Conn) => {
    open.delete(c);
    try {
      c.close();
    } catch { /* already closed */ }
  };

  const pump = async (from: Deno.Conn, to: Deno.Conn, seen?: (chunk: Uint8Array) => void) => {
    const buf = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        seen?.(buf.slice(0, n));
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch { /* the other side went away, or cut() closed us */ }
  };

  const serve = async (client: Deno.Conn) => {
    if (refusing) return closeQuietly(client);
    open.add(client);
    try {
      if (held) await held.promise;
      if (!open.has(client)) return;
      let upstream: Deno.Conn;
      try {
        upstream = await Deno.connect({ hostname: target.hostname, port: target.port });
      } catch {
        return;
      }
      open.add(upstream);
      // Either direction ending ends the pair, as a dropped link would.
      await Promise.race([pump(client, upstream, tap?.()), pump(upstream, client)]);
      closeQuietly(upstream);
    } finally {
      closeQuietly(client);
    }
  };

  const accepting = (async () => {
    for (;;) {
      let c: Deno.Conn;
      try {
        c = await listener.accept();
      } catch {
        return;
      }
      accepted++;
      const p = serve(c);
      pipes.add(p);
      p.finally(() => pipes.delete(p));
    }
  })();

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    accepted: () => accepted,
    cut() {
      const n = open.size;
      for (const c of [...open]) closeQuietly(c);
      return n;
    },
    hold() {
      held ??= Promise.withResolvers<void>();
    },
    resume() {
      held?.resolve();
      held = undefined;
    },
    refuse() {
      refusing = true;
      this.cut();
    },
    accept() {
      refusing = false;
    },
    async close() {
      listener.close();
      this.resume();
      this.cut();
      await accepting;
      await Promise.allSettled([...pipes]);
    },
  };
}
