import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../config/config.ts";
import { permissionFlags } from "./permissions.ts";

Deno.test("under the production --allow-env, git's GIT_CONFIG_* reach children (the NixOS module's git settings)", async () => {
  const flags = permissionFlags({ config: loadConfig({ DESPACITO_DATA_DIR: "/tmp/x" }) });
  const allowEnv = flags.find((f) => f.startsWith("--allow-env="))!;
  const envModule = fileURLToPath(new URL("../exec/env.ts", import.meta.url));
  // deno run, not eval (which grants everything): the environment cannot be listed, only read by name.
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(
    script,
    `import { childEnv } from "${envModule}"; console.log(JSON.stringify(childEnv()));`,
  );
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", allowEnv, "--allow-read", script],
    env: {
      GIT_CONFIG_COUNT: "2",
      GIT_CONFIG_KEY_0: "safe.directory",
      GIT_CONFIG_VALUE_0: "/srv/fleet",
      GIT_CONFIG_KEY_1: "core.hooksPath",
      GIT_CONFIG_VALUE_1: "/dev/null",
      DESPACITO_POSTGRES_CONNECTION_URI: "postgres://u:secret@db/x",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(script);
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  const env = JSON.parse(new TextDecoder().decode(r.stdout));
  assert.equal(env.GIT_CONFIG_COUNT, "2");
  assert.equal(env.GIT_CONFIG_VALUE_0, "/srv/fleet");
  assert.equal(env.GIT_CONFIG_KEY_1, "core.hooksPath");
  assert.equal(env.DESPACITO_POSTGRES_CONNECTION_URI, undefined);
});
