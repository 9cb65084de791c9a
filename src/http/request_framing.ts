/**
 * Where one HTTP/1.1 request ends and the next begins, on the bytes a
 * client sends. The connection guard (src/http/conn_guard.ts) needs it to
 * know when a client is still in a request head (the phase with a time
 * limit) and to add the header that tells the app which connection a
 * request came on. It forwards the bytes unchanged otherwise; the HTTP
 * server behind it does the real parsing. Framing follows RFC 9112 §6:
 * Transfer-Encoding chunked, else Content-Length, else no body. Ambiguous
 * framing (both, several different lengths, a coding other than chunked
 * last) is refused here, as request smuggling defences do.
 */

/** Largest request head accepted (request line and headers). */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Longest chunk-size or trailer line in a chunked body. */
const MAX_LINE_BYTES = 4096;

export interface FramingError {
  status: 400 | 431;
  code: string;
  message: string;
}

const LF = 10;
const CR = 13;
const FRAMING_HEADERS = /\n(content-length|transfer-encoding)[ \t]*:[ \t]*([^\r\n]*)/gi;

type Phase =
  | "head"
  | "length"
  | "chunk-size"
  | "chunk-data"
  | "chunk-end"
  | "trailer";

export class RequestFraming {
  #phase: Phase = "head";
  /** Bytes of a request head received so far, when it spans reads. */
  #partial: Uint8Array | undefined;
  #remaining = 0;
  #line = "";
  readonly #inject: Uint8Array;
  readonly #injectName: string;
  readonly #injected: RegExp;
  readonly #decoder = new TextDecoder();

  /** `inject` is one header line (`name: value\r\n`) added to every request head. */
  constructor(inject: string) {
    this.#inject = new TextEncoder().encode(inject);
    this.#injectName = inject.slice(0, inject.indexOf(":")).toLowerCase();
    this.#injected = new RegExp(`\\n${this.#injectName}[ \\t]*:`, "i");
  }

  /** No request is partly received: the connection is between requests. */
  get idle(): boolean {
    return this.#phase === "head" && this.#partial === undefined;
  }

  /**
   * Takes the next bytes from the client. Returns the bytes to forward
   * (heads with the header added) and how many request heads completed,
   * or the error to answer before closing.
   */
  feed(chunk: Uint8Array): { out: Uint8Array; heads: number } | FramingError {
    let pos = 0;
    let heads = 0;
    const parts: Uint8Array[] = [];
    while (pos < chunk.length) {
      if (this.#phase === "head") {
        const head = this.#takeHead(chunk, pos);
        if (head === undefined) break;
        if ("status" in head) return head;
        parts.push(head.out);
        pos = head.next;
        heads++;
      } else if (this.#phase === "length" || this.#phase === "chunk-data") {
        const n = Math.min(this.#remaining, chunk.length - pos);
        parts.push(chunk.subarray(pos, pos + n));
        pos += n;
        this.#remaining -= n;
        if (this.#remaining === 0) this.#phase = this.#phase === "length" ? "head" : "chunk-end";
      } else {
        const start = pos;
        const end = chunk.indexOf(LF, pos);
        const stop = end < 0 ? chunk.length : end + 1;
        const problem = this.#chunkLine(chunk.subarray(start, stop), end >= 0);
        if (problem) return problem;
        parts.push(chunk.subarray(start, stop));
        pos = stop;
      }
    }
    return { out: parts.length === 1 ? parts[0] : concat(parts), heads };
  }

  /** A complete head from `pos` on (with earlier partial bytes), or undefined while incomplete. */
  #takeHead(
    chunk: Uint8Array,
    pos: number,
  ): { out: Uint8Array; next: number } | FramingError | undefined {
    let buf = chunk;
    let from = pos;
    let prior = 0;
    if (this.#partial) {
      prior = this.#partial.length;
      buf = concat([this.#partial, chunk.subarray(pos)]);
      // Resume the search a few bytes back: the blank line may straddle the reads.
      from = Math.max(0, prior - 3);
    }
    const end = headEnd(buf, from);
    if (end < 0) {
      const held = this.#partial ? buf : chunk.slice(pos);
      if (held.length > MAX_HEAD_BYTES) return tooLarge();
      this.#partial = held;
      return undefined;
    }
    const start = this.#partial ? 0 : pos;
    if (end - start > MAX_HEAD_BYTES) return tooLarge();
    this.#partial = undefined;
    const head = buf.subarray(start, end);
    const framing = this.#framing(head);
    if ("status" in framing) return framing;
    this.#phase = framing.phase;
    this.#remaining = framing.length;
    // The blank line ends the head: the added header goes just before it.
    const blank = head[head.length - 2] === CR ? 2 : 1;
    const out = new Uint8Array(head.length + this.#inject.length);
    out.set(head.subarray(0, head.length - blank));
    out.set(this.#inject, head.length - blank);
    out.set(head.subarray(head.length - blank), head.length - blank + this.#inject.length);
    return { out, next: pos + end - prior };
  }

  #framing(head: Uint8Array): { phase: Phase; length: number } | FramingError {
    const text = this.#decoder.decode(head);
    // HTTP/2's cleartext preface (h2c prior knowledge): its frames are not HTTP/1 heads.
    if (text.startsWith("PRI * HTTP/2.0")) {
      return bad("http2_unsupported", "HTTP/2 without TLS (h2c) is not served: use HTTP/1.1");
    }
    if (this.#injected.test(text)) {
      return bad("forbidden_header", `the ${this.#injectName} header is reserved`);
    }
    let length: string | undefined;
    let chunked: boolean | undefined;
    for (const [, name, raw] of text.matchAll(FRAMING_HEADERS)) {
      const value = raw.trim();
      if (name.length === 14) {
        if (!/^\d{1,15}$/.test(value) || (length !== undefined && length !== value)) {
          return bad("bad_content_length", "Content-Length must be one decimal number");
        }
        length = value;
      } else {
        const codings = value.toLowerCase().split(",").map((c) => c.trim());
        if (chunked !== undefined || codings.at(-1) !== "chunked") {
          return bad("bad_transfer_encoding", "Transfer-Encoding must end with chunked");
        }
        chunked = true;
      }
    }
    if (chunked) {
      if (length !== undefined) {
        return bad("bad_framing", "Content-Length and Transfer-Encoding together");
      }
      if (!/^[^\r\n]* HTTP\/1\.1\r?\n/.test(text)) {
        return bad("bad_transfer_encoding", "Transfer-Encoding needs HTTP/1.1");
      }
      return { phase: "chunk-size", length: 0 };
    }
    const n = length === undefined ? 0 : Number(length);
    return { phase: n > 0 ? "length" : "head", length: n };
  }

  /** One piece of a chunk-size, chunk-end or trailer line (`complete` when it ends in LF). */
  #chunkLine(bytes: Uint8Array, complete: boolean): FramingError | undefined {
    if (this.#line.length + bytes.length > MAX_LINE_BYTES) {
      return bad("bad_chunk", "chunk line too long");
    }
    this.#line += String.fromCharCode(...bytes);
    if (!complete) return undefined;
    const line = this.#line.replace(/\r?\n$/, "");
    this.#line = "";
    if (this.#phase === "chunk-end") {
      if (line !== "") return bad("bad_chunk", "chunk data longer than its size");
      this.#phase = "chunk-size";
    } else if (this.#phase === "chunk-size") {
      const size = /^([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(line);
      if (!size) return bad("bad_chunk", "bad chunk size");
      this.#remaining = parseInt(size[1], 16);
      this.#phase = this.#remaining > 0 ? "chunk-data" : "trailer";
    } else if (line === "") {
      this.#phase = "head";
    }
    return undefined;
  }
}

/** Index just past the blank line ending a head (CRLF CRLF, or bare LFs), or -1. */
function headEnd(buf: Uint8Array, from: number): number {
  let i = buf.indexOf(LF, from);
  while (i >= 0) {
    if (buf[i + 1] === LF) return i + 2;
    if (buf[i + 1] === CR && buf[i + 2] === LF) return i + 3;
    i = buf.indexOf(LF, i + 1);
  }
  return -1;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const bad = (code: string, message: string): FramingError => ({ status: 400, code, message });
const tooLarge = (): FramingError => ({
  status: 431,
  code: "header_too_large",
  message: `request head larger than ${MAX_HEAD_BYTES} bytes`,
});
