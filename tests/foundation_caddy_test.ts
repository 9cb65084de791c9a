/**
 * The production shape: real Caddy (Debian's caddy) on a random loopback
 * port reverse-proxying to despacito's Unix socket, as README's Caddyfile
 * says. Caddy's admin endpoint is off so parallel runs never collide, and
 * its state lives in a temp dir.
 */

import assert from "node:assert/strict";
import { freshDatabase } from "./_harness/postgres.ts";
import { spawnServer, waitFor } from "./_harness/server.ts";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("Caddy reverse_proxy unix//… reaches despacito's socket: /health and the API through Caddy", async () => {
  const dir = await Deno.makeTempDir({ prefix: "despacito-caddy-" });
  const db = await freshDatabase();
  const socket = `${dir}/run/despacito.sock`;
  await Deno.mkdir(`${dir}/run`);
  const server = await spawnServer({
    env: {
      DESPACITO_DATA_DIR: `${dir}/data`,
      DESPACITO_POSTGRES_CONNECTION_URI: db.uri,
      DESPACITO_LISTEN_SOCKET: socket,
    },
  });
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/Caddyfile`,
    `{
\tadmin off
\tauto_https off
}

http://127.0.0.1:${port} {
\treverse_proxy unix/${socket}
}
`,
  );
  const caddy = new Deno.Command("caddy", {
    args: ["run", "--config", `${dir}/Caddyfile`, "--adapter", "caddyfile"],
    env: { HOME: dir, XDG_DATA_HOME: `${dir}/xdg-data`, XDG_CONFIG_HOME: `${dir}/xdg-config` },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const caddyOutput = caddy.output();
  let caddyExited = false;
  caddyOutput.finally(() => (caddyExited = true));
  try {
    const base = `http://127.0.0.1:${port}`;
    const health = await waitFor("Caddy to proxy /health", async () => {
      if (caddyExited) {
        const out = await caddyOutput;
        throw new Error(`caddy exited: ${new TextDecoder().decode(out.stderr)}`);
      }
      const res = await fetch(`${base}/health`);
      const body = await res.json();
      return res.status === 200 ? { res, body } : undefined;
    });
    assert.equal(health.body.status, "ok");
    assert.match(health.res.headers.get("server") ?? "", /Caddy/, "answered through Caddy");
    assert.match(health.res.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);

    const ready = await fetch(`${base}/health/ready`);
    assert.equal(ready.status, 200);
    await ready.body?.cancel();
    const created = await fetch(`${base}/api/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ description: "via-caddy" }),
    });
    assert.equal(created.status, 201);
    const { token } = await created.json();
    const me = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.status, 200);
    assert.equal((await me.json()).token.description, "via-caddy");

    // Request lines are written in batches (a few ms): wait for them rather than race them.
    await waitFor("the request log lines", () => {
      const requests = server.logs().filter((l) => l.msg === "request").map((l) => l.path);
      return requests.includes("/health") && requests.includes("/api/me") ? true : undefined;
    });
  } finally {
    try {
      caddy.kill("SIGTERM");
    } catch { /* already exited */ }
    await caddyOutput;
    assert.equal(await server.stop(), 0);
    await db.drop();
    await Deno.remove(dir, { recursive: true });
  }
});
