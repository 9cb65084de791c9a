import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { acceptsGzip, deflatePiece, GZIP_HEADER, GzipMember } from "./gzip_stream.ts";

const enc = new TextEncoder();

Deno.test("pieces compressed on their own, in any order and repeated, make one valid gzip member", async () => {
  const a = enc.encode('event: log\ndata: {"seq":1}\nid: 1\n\n'.repeat(50));
  const b = enc.encode("événement ✓ 🚀\n\n");
  const empty = new Uint8Array(0);
  // The same piece object is shared between two members, as between two SSE subscribers.
  const pa = deflatePiece(a);
  const pb = deflatePiece(b);
  for (const order of [[a, b, a], [b, empty, a, a]]) {
    const member = new GzipMember();
    const parts: Uint8Array<ArrayBuffer>[] = [GZIP_HEADER];
    for (const p of order) {
      parts.push(p === a ? pa : p === b ? pb : deflatePiece(p));
      member.sent(p);
    }
    parts.push(member.end());
    const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
    const expected = new Uint8Array(await new Blob(order).arrayBuffer());
    assert.deepEqual(new Uint8Array(gunzipSync(bytes)), expected);
    // What fetch and browsers use: the web's streaming decoder, which checks CRC and length too.
    const streamed = new Response(
      new Blob([bytes]).stream().pipeThrough(
        new DecompressionStream("gzip"),
      ),
    );
    assert.deepEqual(new Uint8Array(await streamed.arrayBuffer()), expected);
  }
});

Deno.test("a piece is decodable as soon as it arrives, before the member ends", async () => {
  const ds = new DecompressionStream("gzip");
  const writer = ds.writable.getWriter();
  const reader = ds.readable.getReader();
  void writer.write(GZIP_HEADER);
  void writer.write(deflatePiece(enc.encode("event: log\n\n")));
  const { value } = await reader.read();
  assert.equal(new TextDecoder().decode(value), "event: log\n\n");
  await reader.cancel();
  await writer.abort().catch(() => {});
});

Deno.test("acceptsGzip() follows Accept-Encoding's names and weights", () => {
  for (
    const yes of ["gzip", "gzip, deflate, br", "br;q=1.0, GZIP;q=0.5", "x-gzip", "*", "br, *;q=0.1"]
  ) {
    assert.equal(acceptsGzip(yes), true, yes);
  }
  for (
    const no of [
      null,
      undefined,
      "",
      "identity",
      "br",
      "gzip;q=0",
      "gzip;q=0.000",
      "*;q=0",
      "gzip;q=0, *",
    ]
  ) {
    assert.equal(acceptsGzip(no), false, String(no));
  }
});
