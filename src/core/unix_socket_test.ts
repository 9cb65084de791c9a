import assert from "node:assert/strict";
import { clearStaleSocket } from "./unix_socket.ts";

Deno.test("clearStaleSocket() removes a dead socket, keeps a live one, refuses a plain file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "despacito-sock-" });
  try {
    const path = `${dir}/s.sock`;
    assert.equal(await clearStaleSocket(path), "free");

    const live = Deno.listen({ transport: "unix", path });
    assert.equal(await clearStaleSocket(path), "in_use");
    assert.ok((await Deno.lstat(path)).isSocket, "a live socket is left alone");
    live.close();

    // A process killed with SIGKILL leaves its socket file behind (a clean close removes it).
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `Deno.listen({ transport: "unix", path: ${JSON.stringify(path)} }); console.log("up");` +
        " setInterval(() => {}, 1000);",
      ],
      stdout: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert.match((await reader.read()).value ?? "", /up/);
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    assert.ok((await Deno.lstat(path)).isSocket, "the killed process left its socket");
    assert.equal(await clearStaleSocket(path), "free");
    await assert.rejects(() => Deno.lstat(path), Deno.errors.NotFound);

    await Deno.writeTextFile(`${dir}/plain`, "x");
    assert.equal(await clearStaleSocket(`${dir}/plain`), "not_a_socket");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
