/**
 * The few raw HTTP/1.1 things the connection guard (conn_guard.ts) does
 * itself, before a request reaches the HTTP server: whole writes, quiet
 * closes, and its own short answers (408, 400, 431, 503) in the app's JSON
 * error shape, each ending the connection.
 */

export async function writeAll(conn: Deno.Conn, bytes: Uint8Array) {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

export function closeQuietly(conn: Deno.Conn) {
  try {
    conn.close();
  } catch { /* already closed */ }
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
  503: "Service Unavailable",
};

export function errorResponse(
  e: { status: number; code: string; message: string },
  extra = "",
): Uint8Array {
  const body = JSON.stringify({ error: { code: e.code, message: e.message } });
  return new TextEncoder().encode(
    `HTTP/1.1 ${e.status} ${REASONS[e.status]}\r\ncontent-type: application/json\r\n` +
      `content-length: ${body.length}\r\nconnection: close\r\n${extra}\r\n${body}`,
  );
}
