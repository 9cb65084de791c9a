import assert from "node:assert/strict";
import { createLogger, journaldFromEnv } from "./log.ts";

Deno.test("createLogger() writes JSON lines with level, message and context", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "info", sink: (l) => lines.push(l), now: () => new Date(0) })
    .child({ component: "http" });
  log.debug("hidden");
  log.info("hello", { request_id: "r1" });
  assert.equal(lines.length, 1);
  assert.deepEqual(JSON.parse(lines[0]), {
    time: "1970-01-01T00:00:00.000Z",
    level: "info",
    msg: "hello",
    component: "http",
    request_id: "r1",
  });
});

Deno.test("createLogger() never writes credentials, nested or in text", () => {
  const lines: string[] = [];
  const log = createLogger({ sink: (l) => lines.push(l) });
  const token = "a".repeat(64);
  log.info("request", {
    headers: { authorization: `Bearer ${token}`, cookie: "s=1" },
    token,
    db_password: "hunter2",
    detail: `failed with Authorization: Bearer ${token}`,
    uri: "postgres://despacito:hunter2@db/despacito",
    token_id: "kept",
  });
  const out = lines.join("\n");
  assert.ok(!out.includes(token));
  assert.ok(!out.includes("hunter2"));
  assert.ok(!out.includes("s=1"));
  assert.match(out, /"token_id":"kept"/);
});

Deno.test("createLogger({ journald }) prefixes each line with its syslog priority", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "debug", journald: true, sink: (l) => lines.push(l) })
    .child({ component: "x" });
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e", { password: "hunter2" });
  assert.deepEqual(lines.map((l) => l.slice(0, 4)), ["<7>{", "<6>{", "<4>{", "<3>{"]);
  assert.deepEqual(JSON.parse(lines[3].slice(3)), {
    time: JSON.parse(lines[3].slice(3)).time,
    level: "error",
    msg: "e",
    component: "x",
    password: "[redacted]",
  });
  const plain: string[] = [];
  createLogger({ sink: (l) => plain.push(l) }).error("e");
  assert.ok(plain[0].startsWith("{"));
});

Deno.test("journaldFromEnv() is on only when systemd set JOURNAL_STREAM", () => {
  const env = (v?: string) => ({ get: (n: string) => (n === "JOURNAL_STREAM" ? v : undefined) });
  assert.equal(journaldFromEnv(env("8:12345")), true);
  assert.equal(journaldFromEnv(env(undefined)), false);
  assert.equal(journaldFromEnv(env("")), false);
});

Deno.test("Logger.enabled() says which levels are written, children included", () => {
  const log = createLogger({ level: "info", sink: () => {} });
  assert.deepEqual(
    (["debug", "info", "warn", "error"] as const).map((l) => log.enabled(l)),
    [false, true, true, true],
  );
  assert.equal(log.child({ component: "x" }).enabled("debug"), false);
  assert.equal(createLogger({ level: "debug", sink: () => {} }).enabled("debug"), true);
});

Deno.test("Logger.flush() writes the gathered info lines at once, not after the batch timer", async () => {
  // A child process: the lines go to its stdout. The marker is written directly after flush();
  // without flush() the info line would follow it (written by the timer or at exit).
  const script = `
    import { createLogger } from ${JSON.stringify(new URL("./log.ts", import.meta.url).href)};
    const log = createLogger();
    log.info("ready");
    log.flush();
    Deno.stdout.writeSync(new TextEncoder().encode("marker\\n"));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const lines = stdout.trim().split("\n");
  assert.equal(lines.length, 2, stdout);
  assert.equal(JSON.parse(lines[0]).msg, "ready");
  assert.equal(lines[1], "marker");
});
