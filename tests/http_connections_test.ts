/**
 * The connection guard of the real process (src/http/conn_guard.ts): a
 * request head must arrive within DESPACITO_HEADER_TIMEOUT, a connection
 * idle for DESPACITO_IDLE_TIMEOUT is closed, beyond DESPACITO_MAX_CONNECTIONS
 * a new connection gets 503, and a request in flight with no bytes for
 * longer than both timeouts is never cut. Raw TCP connections, because
 * fetch() would pool and hide them.
 */

import assert from "node:assert/strict";
import { STORE_PATH, withDeployEnv } from "./_harness/deploy_env.ts";
import { holdReadinessLock } from "./_harness/readiness_lock.ts";
import { type ServerProcess, spawnServer, waitFor, withServerEnv } from "./_harness/server.ts";
import { readSse } from "./_harness/sse.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function open(server: ServerProcess): Promise<Deno.TcpConn> {
  const port = Number(server.address.split(":").at(-1));
  return await Deno.connect({ hostname: "127.0.0.1", port });
}

/** Everything the server sends until it closes the connection, and when it closed (ms since `since`). */
async function readToClose(conn: Deno.Conn, since: number): Promise<{ text: string; ms: number }> {
  const buf = new Uint8Array(4096);
  let text = "";
  try {
    for (let n; (n = await conn.read(buf)) !== null;) text += dec.decode(buf.subarray(0, n));
  } catch (e) {
    if (!(e instanceof Deno.errors.ConnectionReset)) throw e;
  }
  const ms = performance.now() - since;
  conn.close();
  return { text, ms };
}

/** Reads one response whose body is `Content-Length` long; the connection stays open. */
async function readResponse(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(4096);
  let text = "";
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) throw new Error(`closed mid-response: ${text}`);
    text += dec.decode(buf.subarray(0, n));
    const end = text.indexOf("\r\n\r\n");
    const length = /content-length: (\d+)/i.exec(text);
    if (end >= 0 && length && text.length >= end + 4 + Number(length[1])) return text;
  }
}

const GET_HEALTH = "GET /health HTTP/1.1\r\nHost: test\r\n\r\n";

/** GET /metrics on a fresh connection that closes after the answer (DESPACITO_METRICS=public). */
async function metrics(server: ServerProcess): Promise<string> {
  const c = await open(server);
  await c.write(enc.encode("GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"));
  return (await readToClose(c, 0)).text;
}

Deno.test("connection guard: a partial request head is answered 408 and closed after DESPACITO_HEADER_TIMEOUT, others are served meanwhile", async () => {
  await withServerEnv(async ({ env }) => {
    const server = await spawnServer({
      env: {
        ...env,
        DESPACITO_HEADER_TIMEOUT: "1s",
        DESPACITO_IDLE_TIMEOUT: "1m",
        DESPACITO_METRICS: "public",
      },
    });
    try {
      const slow = await open(server);
      const started = performance.now();
      await slow.write(enc.encode("GET /health HTTP/1.1\r\nHost: test\r\n"));
      // Slowloris: a byte now and then does not extend the deadline.
      const drip = setInterval(() => slow.write(enc.encode("X")).catch(() => {}), 200);
      const closed = readToClose(slow, started);

      const other = await open(server);
      await other.write(enc.encode(GET_HEALTH));
      assert.match(await readResponse(other), /^HTTP\/1\.1 200/);
      other.close();

      const { text, ms } = await closed;
      clearInterval(drip);
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.match(text, /"code":"request_timeout"/);
      assert.ok(ms >= 900 && ms < 5000, `closed after ${ms} ms`);
      assert.match(
        await metrics(server),
        /despacito_http_connections_timed_out_total\{timeout="header"\} 1\n/,
      );
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});

Deno.test("connection guard: ambiguous framing, the guard's own header and an oversized head are refused and the connection closed", async () => {
  await withServerEnv(async ({ env, dataDir }) => {
    // A crashed run's private socket is cleared at start; the live one is in a private directory.
    await Deno.mkdir(`${dataDir}/http-run`);
    // A process killed while listening leaves its socket file behind.
    const dead = `${dataDir}/http-run/1-dead.sock`;
    await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `Deno.listen({ transport: "unix", path: "${dead}" }); Deno.kill(Deno.pid, "SIGKILL");`,
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    assert.ok((await Deno.lstat(dead)).isSocket, "left behind");
    const server = await spawnServer({ env });
    const run = `${dataDir}/http-run`;
    assert.equal((await Deno.stat(run)).mode! & 0o777, 0o700);
    const sockets = async () => (await Array.fromAsync(Deno.readDir(run))).map((e) => e.name);
    assert.deepEqual((await sockets()).length, 1);
    assert.ok(!(await sockets()).includes("1-dead.sock"));
    try {
      const cases: [string, RegExp][] = [
        [
          "POST /webhook HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
          /^HTTP\/1\.1 400 [^]*"code":"bad_framing"/,
        ],
        [
          "GET /health HTTP/1.1\r\nHost: t\r\nX-Despacito-Conn: 1\r\n\r\n",
          /^HTTP\/1\.1 400 [^]*"code":"forbidden_header"/,
        ],
        [
          `GET /health HTTP/1.1\r\nHost: t\r\nX-Big: ${"a".repeat(70_000)}\r\n\r\n`,
          /^HTTP\/1\.1 431 [^]*"code":"header_too_large"/,
        ],
      ];
      for (const [request, answer] of cases) {
        const c = await open(server);
        await c.write(enc.encode(request)).catch(() => {});
        const { text } = await readToClose(c, performance.now());
        assert.match(text, answer, request.slice(0, 60));
      }
      // A good request after all that: the server is fine.
      const c = await open(server);
      await c.write(enc.encode(GET_HEALTH));
      assert.match(await readResponse(c), /^HTTP\/1\.1 200/);
      c.close();
    } finally {
      assert.equal(await server.stop(), 0);
    }
    assert.deepEqual(await sockets(), [], "removed at shutdown");
  });
});

Deno.test("connection guard: a keep-alive connection is closed after DESPACITO_IDLE_TIMEOUT without a request", async () => {
  await withServerEnv(async ({ env }) => {
    const server = await spawnServer({
      env: { ...env, DESPACITO_HEADER_TIMEOUT: "30s", DESPACITO_IDLE_TIMEOUT: "1500ms" },
    });
    try {
      const conn = await open(server);
      await conn.write(enc.encode(GET_HEALTH));
      assert.match(await readResponse(conn), /^HTTP\/1\.1 200/);
      // Still usable while not idle for long.
      await conn.write(enc.encode(GET_HEALTH));
      assert.match(await readResponse(conn), /^HTTP\/1\.1 200/);
      const idleSince = performance.now();
      const { text, ms } = await readToClose(conn, idleSince);
      assert.equal(text, "", "closed without an answer: the client asked nothing");
      assert.ok(ms >= 1400 && ms < 6000, `closed after ${ms} ms idle`);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});

Deno.test("connection guard: beyond DESPACITO_MAX_CONNECTIONS a new connection gets 503 and is closed; after one closes, one is accepted", async () => {
  await withServerEnv(async ({ env }) => {
    const server = await spawnServer({
      env: {
        ...env,
        DESPACITO_MAX_CONNECTIONS: "3",
        DESPACITO_HEADER_TIMEOUT: "1m",
        DESPACITO_METRICS: "public",
      },
    });
    try {
      const held: Deno.TcpConn[] = [];
      for (let i = 0; i < 3; i++) {
        const c = await open(server);
        await c.write(enc.encode(GET_HEALTH));
        assert.match(await readResponse(c), /^HTTP\/1\.1 200/);
        held.push(c);
      }
      const extra = await open(server);
      await extra.write(enc.encode(GET_HEALTH)).catch(() => {});
      const refused = await readToClose(extra, performance.now());
      assert.match(refused.text, /^HTTP\/1\.1 503 /);
      assert.match(refused.text, /"code":"too_many_connections"/);
      assert.match(refused.text, /retry-after: 1/i);
      await waitFor(
        "the refusal in the log",
        () =>
          server.logs().find((l) =>
            l.msg === "connections refused: too many open connections" && l.limit === 3
          ),
      );

      held.pop()!.close();
      // The server notices the close asynchronously: poll until a fourth connection is served.
      await waitFor("a connection to be accepted again", async () => {
        const c = await open(server);
        await c.write(enc.encode(GET_HEALTH.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n")))
          .catch(() => {});
        const { text } = await readToClose(c, 0).catch(() => ({ text: "" }));
        return text.startsWith("HTTP/1.1 200") ? true : undefined;
      });
      // The probes' ends reach the guard asynchronously too: poll for the settled figures.
      await waitFor("the two held and the scrape's own counted open", async () => {
        const scraped = await metrics(server);
        // At least the one above; a probe that came before the server saw the close counts too.
        const refused = /despacito_http_connections_refused_total (\d+)\n/.exec(scraped);
        assert.ok(refused && Number(refused[1]) >= 1, scraped);
        return /despacito_http_connections_open 3\n/.test(scraped) ? true : undefined;
      });
      for (const c of held) c.close();
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});

Deno.test("connection guard: a request in flight with no bytes for longer than both timeouts is not cut", async () => {
  await withServerEnv(async ({ env, dbUri }) => {
    const server = await spawnServer({
      env: { ...env, DESPACITO_HEADER_TIMEOUT: "500ms", DESPACITO_IDLE_TIMEOUT: "500ms" },
    });
    const lock = await holdReadinessLock(dbUri);
    try {
      // GET /health/ready waits in its handler, sending nothing, until the lock is released.
      const waiting = await open(server);
      await waiting.write(enc.encode("GET /health/ready HTTP/1.1\r\nHost: test\r\n\r\n"));
      const answered = readResponse(waiting);
      await lock.waitedOn();
      // A connection opened now and left silent is closed once the timeout has passed: by then
      // the waiting request has been silent longer than the header and idle timeouts.
      const probe = await open(server);
      const probed = await readToClose(probe, performance.now());
      assert.ok(probed.ms >= 400, `probe closed after ${probed.ms} ms`);
      await lock.release();
      const text = await answered;
      assert.match(text, /^HTTP\/1\.1 (200|503)/);
      waiting.close();
    } finally {
      await lock.end();
      assert.equal(await server.stop(), 0);
    }
  });
});

Deno.test("connection guard: a wait=true webhook and an SSE stream outlive both timeouts while the deployment runs", async () => {
  await withDeployEnv({
    extraEnv: { DESPACITO_HEADER_TIMEOUT: "500ms", DESPACITO_IDLE_TIMEOUT: "1500ms" },
  }, async (env) => {
    await env.colmena.set({ mode: "hold" });
    const waiting = env.webhook({
      package: "webapp",
      version: "1.1.0",
      nix_store_path: STORE_PATH,
    });
    await env.colmena.waitFor((runs) => runs.length === 1, "colmena to start");
    const [{ id }] = await env.sql<{ id: string }[]>`select id from deployments`;
    const res = await env.fetch(`/api/deployments/${id}/events`);
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const frames = readSse(res);
    assert.ok((await frames.next()).value, "the replay starts");

    // Time passes beyond both timeouts, shown by a connection of our own: one request, then idle
    // until the server closes it.
    const probe = await open(env.server!);
    await probe.write(enc.encode(GET_HEALTH));
    assert.match(await readResponse(probe), /^HTTP\/1\.1 200/);
    const idle = await readToClose(probe, performance.now());
    assert.ok(idle.ms >= 1400, `probe closed after ${idle.ms} ms idle`);

    await env.colmena.release();
    let end = false;
    for await (const f of frames) {
      if (f.event === "end") {
        end = true;
        break;
      }
    }
    assert.ok(end, "the SSE stream ran to its end");
    const answered = await waiting;
    assert.equal(answered.status, 200, await answered.clone().text());
    assert.equal((await answered.json()).status, "deployed");
  });
});
