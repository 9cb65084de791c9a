/**
 * Unix socket files outlive crashed processes. Both the HTTP listener and
 * the embedded database's private socket need the same judgement: a file
 * nobody answers on is a leftover to remove, one a live process answers on
 * must be left alone.
 */

export type SocketState = "free" | "in_use" | "not_a_socket";

/** Removes a leftover socket file at `path`; reports whether the path can be listened on. */
export async function clearStaleSocket(path: string): Promise<SocketState> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch {
    return "free";
  }
  if (!info.isSocket) return "not_a_socket";
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    return "in_use";
  } catch {
    await Deno.remove(path);
    return "free";
  }
}
