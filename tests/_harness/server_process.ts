/**
 * despacito as a real process: `deno run` with exactly the permission flags
 * src/build/permissions.ts computes for the configuration (what ships is
 * what is tested), a clean environment, and the JSON log on stdout parsed
 * to learn the address. `kill9()` is the crash; `stop()` the SIGTERM.
 */

import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/config/config.ts";
import { permissionFlags } from "../../src/build/permissions.ts";

const programDir = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

export interface ServerProcess {
  url: string;
  lines: string[];
  kill9(): Promise<void>;
  stop(): Promise<number>;
}

export async function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const config = loadConfig(env);
  const flags = permissionFlags({ config, programDir });
  const child = new Deno.Command("deno", {
    args: ["run", ...flags, `${programDir}/main.ts`, "serve"],
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/root",
      ...env,
    },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const started = Promise.withResolvers<string>();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    let buf = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      for (const l of parts) {
        lines.push(l);
        if (l.includes('"msg":"despacito started"')) started.resolve(JSON.parse(l).address);
      }
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const timer = setTimeout(
    () => started.reject(new Error(`server did not start:\n${lines.join("\n")}`)),
    60_000,
  );
  child.status.then((s) =>
    started.reject(new Error(`server exited with ${s.code}:\n${lines.join("\n")}`))
  );
  try {
    const address = await started.promise;
    return {
      url: `http://${address}`,
      lines,
      async kill9() {
        child.kill("SIGKILL");
        await child.status;
        await pumps;
      },
      async stop() {
        child.kill("SIGTERM");
        const s = await child.status;
        await pumps;
        return s.code;
      },
    };
  } finally {
    clearTimeout(timer);
  }
}
