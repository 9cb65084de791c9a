/**
 * `deno task start` / `deno task cli`: runs main.ts under the permission
 * flags computed from the current configuration (permissions.ts), the same
 * flags the compiled binary and the end-to-end tests use. Forwards signals
 * and exits with the child's status. Operator commands (login, status, …)
 * get their own smaller set: see operator_permissions.ts. Spawns `deno` from PATH, the one `--allow-run=deno` names.
 */

import { fileURLToPath } from "node:url";
import { configOrReport, despacitoEnv } from "../cli/runtime.ts";
import { flagsForCommand, secretFilesFrom } from "./permissions.ts";

const programDir = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

if (import.meta.main) {
  const config = configOrReport();
  if (!config) Deno.exit(2);
  const flags = flagsForCommand(Deno.args, {
    config,
    secretFiles: secretFilesFrom(despacitoEnv()),
    programDir,
  }, (name) => Deno.env.get(name));
  const child = new Deno.Command("deno", {
    args: ["run", ...flags, `${programDir}/main.ts`, ...Deno.args],
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(sig, () => {
      try {
        child.kill(sig);
      } catch { /* already gone */ }
    });
  }
  const status = await child.status;
  Deno.exit(status.code);
}
