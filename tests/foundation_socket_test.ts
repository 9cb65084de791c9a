/**
 * Listening on a Unix socket (how despacito runs behind Caddy), with the
 * real process: the socket gets the configured mode, a crashed run's file
 * is replaced, a live one is never stolen, SIGTERM removes it, and
 * `despacito healthcheck` probes it.
 */

import assert from "node:assert/strict";
import { freshDatabase } from "./_harness/postgres.ts";
import { fetchUnix, runCli, spawnServer } from "./_harness/server.ts";

async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "despacito-sock-" });
  const db = await freshDatabase();
  const socket = `${dir}/run/despacito.sock`;
  await Deno.mkdir(`${dir}/run`);
  const env = {
    DESPACITO_DATA_DIR: `${dir}/data`,
    DESPACITO_POSTGRES_CONNECTION_URI: db.uri,
    DESPACITO_LISTEN_SOCKET: socket,
    // A port that is certainly in use proves the socket takes precedence.
    DESPACITO_LISTEN: "127.0.0.1:1",
  };
  return {
    dir,
    socket,
    env,
    cleanup: async () => {
      await db.drop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const exists = async (p: string) => await Deno.lstat(p).then(() => true, () => false);

Deno.test("despacito on a Unix socket: configured mode, healthcheck, removed on SIGTERM", async () => {
  const { socket, env, cleanup } = await setup();
  try {
    const server = await spawnServer({ env: { ...env, DESPACITO_LISTEN_SOCKET_MODE: "0600" } });
    assert.equal(server.address, `unix:${socket}`);
    const info = await Deno.lstat(socket);
    assert.ok(info.isSocket);
    assert.equal(info.mode! & 0o777, 0o600);

    const res = await fetchUnix(socket, "/health");
    assert.equal(res.status, 200);
    assert.equal((await res.json()).status, "ok");
    const check = await runCli(["healthcheck"], env);
    assert.equal(check.code, 0, check.stderr);

    assert.equal(await server.stop("SIGTERM"), 0);
    assert.equal(await exists(socket), false, "socket removed at shutdown");
    assert.ok(server.logs().some((l) => l.msg === "stopped"));
    const down = await runCli(["healthcheck"], env);
    assert.equal(down.code, 1);
  } finally {
    await cleanup();
  }
});

Deno.test("despacito on a Unix socket: the default mode is 0660", async () => {
  const { socket, env, cleanup } = await setup();
  try {
    const server = await spawnServer({ env });
    assert.equal((await Deno.lstat(socket)).mode! & 0o777, 0o660);
    assert.equal(await server.stop("SIGINT"), 0);
    assert.equal(await exists(socket), false);
  } finally {
    await cleanup();
  }
});

Deno.test("despacito on a Unix socket: a crashed run's socket is replaced, a live one refused", async () => {
  const { socket, env, cleanup } = await setup();
  try {
    const crashed = await spawnServer({ env });
    await crashed.stop("SIGKILL");
    assert.ok(await exists(socket), "SIGKILL leaves the socket file behind");

    const live = await spawnServer({ env });
    try {
      assert.equal((await fetchUnix(socket, "/health")).status, 200);

      const intruder = await runCli(["serve"], env);
      assert.equal(intruder.code, 1);
      assert.ok(
        intruder.stderr.includes(`cannot listen on unix:${socket}: another process is listening`),
        intruder.stderr,
      );
      // The live server kept its socket.
      assert.equal((await fetchUnix(socket, "/health")).status, 200);
    } finally {
      assert.equal(await live.stop(), 0);
    }
  } finally {
    await cleanup();
  }
});

Deno.test("despacito on a Unix socket: a regular file in the way is refused and left alone", async () => {
  const { socket, env, cleanup } = await setup();
  try {
    await Deno.writeTextFile(socket, "precious");
    const r = await runCli(["serve"], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /a file that is not a socket is in the way/);
    assert.equal(await Deno.readTextFile(socket), "precious");
  } finally {
    await cleanup();
  }
});
