import assert from "node:assert/strict";
import { MAX_HEAD_BYTES, RequestFraming } from "./request_framing.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const INJECT = "x-despacito-conn: 7\r\n";

/** Feeds `pieces` one by one; returns what was forwarded, the head count and the error, if any. */
function run(pieces: string[]) {
  const f = new RequestFraming(INJECT);
  let out = "";
  let heads = 0;
  for (const p of pieces) {
    const r = f.feed(enc.encode(p));
    if ("status" in r) return { out, heads, error: r, idle: f.idle };
    out += dec.decode(r.out);
    heads += r.heads;
  }
  return { out, heads, error: undefined, idle: f.idle };
}

const withHeader = (head: string) => head.replace(/\r\n\r\n$/, `\r\n${INJECT}\r\n`);

Deno.test("RequestFraming adds its header to every head of a keep-alive stream, bodies untouched", () => {
  const a = "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n";
  const b = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  const body = "\r\n\r\nabc\r\n\r\nd"; // looks like heads, is a body
  const r = run([a + body + b]);
  assert.equal(r.error, undefined);
  assert.equal(r.heads, 2);
  assert.equal(r.out, withHeader(a) + body + withHeader(b));
  assert.equal(r.idle, true);
});

Deno.test("RequestFraming finds a head split anywhere, even inside the blank line", () => {
  const head = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  for (let i = 1; i < head.length; i++) {
    const r = run([head.slice(0, i), head.slice(i)]);
    assert.equal(r.out, withHeader(head), `split at ${i}`);
    assert.equal(r.heads, 1);
  }
  const partial = run(["GET / HTTP/1.1\r\nHo"]);
  assert.equal(partial.out, "");
  assert.equal(partial.idle, false);
});

Deno.test("RequestFraming follows chunked bodies with extensions and trailers, byte by byte", () => {
  const head = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  const body = "5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n";
  const next = "GET /y HTTP/1.1\r\n\r\n";
  const whole = head + body + next;
  const r = run([...whole]);
  assert.equal(r.error, undefined);
  assert.equal(r.heads, 2);
  assert.equal(r.out, withHeader(head) + body + withHeader(next));
});

Deno.test("RequestFraming refuses ambiguous framing and its own header", () => {
  const cases: [string, string][] = [
    ["POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "bad_framing"],
    ["POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", "bad_content_length"],
    ["POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "bad_content_length"],
    ["POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "bad_transfer_encoding"],
    ["POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "bad_transfer_encoding"],
    ["GET / HTTP/1.1\r\nX-Despacito-Conn: 1\r\n\r\n", "forbidden_header"],
    ["PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "http2_unsupported"],
    ["POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad_chunk"],
    ["POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", "bad_chunk"],
  ];
  for (const [input, code] of cases) {
    const r = run([input]);
    assert.equal(r.error?.status, 400, input);
    assert.equal(r.error?.code, code, input);
  }
  const big = run(["GET / HTTP/1.1\r\n", `X-Big: ${"a".repeat(MAX_HEAD_BYTES)}`]);
  assert.equal(big.error?.status, 431);
});
