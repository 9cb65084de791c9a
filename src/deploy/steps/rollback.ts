/**
 * rollback: the nodes that may run the failed version are re-activated at
 * the restored lock (`colmena apply <goal> --on <node>,<node>…`), with their
 * own per-node outcomes and log. Their state goes back to the previous
 * commit and package versions. If the rollback itself fails, the package
 * is held: nothing more is deployed for it until an operator releases it,
 * and the node view shows which nodes run what. Shared by a failing run
 * and by recovery after a crash.
 */

import type { Executor } from "../../exec/run.ts";
import type { GroupGuard } from "../../exec/orphans.ts";
import type { Logger } from "../../log/log.ts";
import { colmenaArgv, firstErrorLine, NodeOutcomeParser } from "../colmena.ts";
import type { DeploymentRow, RollbackRecord } from "../deployment.ts";
import { durably } from "../durable.ts";
import { holdPackage, writeNodeStates } from "../fleet_store.ts";
import type { PackageSettings } from "../settings.ts";
import type { Sql } from "../../db/connect.ts";

export interface RollbackInput {
  sql: Sql;
  exec: Executor;
  guard: GroupGuard;
  colmenaBin: string;
  flakeDir: string;
  log: Logger;
  row: DeploymentRow;
  settings: PackageSettings;
  /** Node names, or a colmena selector when which nodes switched is unknown (after a crash). */
  on: string;
  /** The commit the nodes go back to, and what runs there. */
  commitSha: string | null;
  packages: Record<string, string>;
  say(line: string): void;
  output(stream: "stdout" | "stderr", line: string): void;
}

export async function rollbackFleet(i: RollbackInput): Promise<RollbackRecord> {
  const parser = new NodeOutcomeParser(i.settings.goal);
  const argv = colmenaArgv(i.colmenaBin, { ...i.settings, on: i.on });
  i.say(`rolling back ${i.on} to ${i.commitSha ?? "the previous lock"}`);
  i.say(`$ ${argv.join(" ")}`);
  const lines: string[] = [];
  let code: number;
  let timedOut = false;
  try {
    const r = await i.exec(argv, {
      cwd: i.flakeDir,
      timeoutMs: i.settings.timeoutMs,
      log: i.log,
      onSpawn: (pid) => i.guard.record(pid),
      onLine: (s, l) => {
        parser.feed(l);
        if (lines.length < 5_000) lines.push(l);
        i.output(s, l);
      },
    }).finally(() => i.guard.clear());
    code = r.code;
    timedOut = r.timedOut;
  } catch (e) {
    i.say(`rollback could not start colmena: ${(e as Error).message}`);
    code = -1;
  }
  const nodes = parser.outcomes();
  const ok = code === 0 && nodes.every((n) => n.status !== "failed");
  await durably(() =>
    writeNodeStates(
      i.sql,
      nodes.map((n) => ({
        node: n.node,
        deploymentId: i.row.id,
        outcome: n.status === "succeeded" ? "rolled_back" : "rollback_failed",
        running: n.status === "succeeded" ? { commitSha: i.commitSha, packages: i.packages } : null,
      })),
    ), { log: i.log, what: "node states after rollback" });
  const failed = nodes.filter((n) => n.status === "failed").map((n) => n.node);
  const message = ok
    ? null
    : timedOut
    ? "the rollback timed out"
    : `the rollback failed${failed.length ? ` on ${failed.join(", ")}` : ""}: ${
      firstErrorLine(lines) ?? `colmena apply exited with ${code}`
    }`;
  i.say(ok ? `rolled back ${nodes.map((n) => n.node).join(", ") || i.on}` : message!);
  if (!ok) {
    await durably(
      () =>
        holdPackage(i.sql, {
          package: i.row.package,
          deploymentId: i.row.id,
          reason: message!,
        }),
      { log: i.log, what: "package hold" },
    );
    i.say(`${i.row.package} is held: release it with POST /api/packages/${i.row.package}/release`);
  }
  return { status: ok ? "ok" : "failed", commit_sha: i.commitSha, nodes, message };
}
