import assert from "node:assert/strict";
import { REPO_DIR } from "./server.ts";

/** Runs `deno task <args>` in the repo and returns its output; fails the test unless it exits 0. */
export async function denoTask(args: string[]): Promise<{ out: string; err: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", ...args],
    cwd: REPO_DIR,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(r.stdout);
  const err = new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 0, `${out}\n${err}`);
  return { out, err };
}
