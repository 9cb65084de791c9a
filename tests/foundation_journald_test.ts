/**
 * Under systemd (JOURNAL_STREAM set) despacito's JSON log lines carry their
 * syslog priority, so `journalctl -p err` shows its errors. Runs the real CLI
 * under its production permission flags (JOURNAL_STREAM must be readable).
 */

import assert from "node:assert/strict";
import { runCli } from "./_harness/server.ts";

Deno.test("with JOURNAL_STREAM each log line starts with its priority; without, plain JSON", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "despacito-journald-" });
  try {
    const env = { DESPACITO_DATA_DIR: dataDir };
    const journal = await runCli(["migrate"], { ...env, JOURNAL_STREAM: "8:4242" });
    assert.equal(journal.code, 0, journal.stderr);
    // Only despacito's log lines (Deno itself may add an "Info …" line about PATH).
    const logLines = (text: string) => text.split("\n").filter((l) => l.includes('{"time":'));
    const lines = logLines(journal.stderr);
    assert.ok(lines.length > 0);
    for (const line of lines) {
      assert.match(line, /^<[3467]>\{/, line);
      const record = JSON.parse(line.slice(3));
      assert.equal(
        line.slice(0, 3),
        `<${{ debug: 7, info: 6, warn: 4, error: 3 }[record.level as "info"]}>`,
      );
    }
    assert.ok(lines.some((l) => l.startsWith("<6>")), "info lines at priority 6");

    const plain = await runCli(["migrate"], env);
    assert.equal(plain.code, 0, plain.stderr);
    assert.ok(logLines(plain.stderr).length > 0);
    for (const line of logLines(plain.stderr)) {
      assert.ok(line.startsWith("{"), line);
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
