/**
 * Sealing secrets at rest: tweetnacl secretbox (XSalsa20-Poly1305) under the
 * server key. A sealed value names the key it was sealed with
 * (`v1.<key id>.<base64(nonce || box)>`), so a wrong or rotated key is
 * reported as such instead of as corrupt data. Owns nothing else: where the
 * key comes from is key.ts, where sealed values live is store.ts. Never logs
 * or puts a plaintext into an error message.
 */

import nacl from "tweetnacl";
import { hex } from "../core/ids.ts";

export const KEY_BYTES = nacl.secretbox.keyLength; // 32

export class SealError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SealError";
  }
}

/** A short public fingerprint of a key (first 6 bytes of its SHA-512, hex). */
export function keyId(key: Uint8Array): string {
  return hex(nacl.hash(key).subarray(0, 6));
}

export interface Sealer {
  /** The fingerprint of the key in use. */
  readonly keyId: string;
  seal(plaintext: string): string;
  open(sealed: string): string;
}

export function createSealer(key: Uint8Array): Sealer {
  if (key.length !== KEY_BYTES) throw new SealError(`server key must be ${KEY_BYTES} bytes`);
  const id = keyId(key);
  return {
    keyId: id,
    seal(plaintext) {
      const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
      const box = nacl.secretbox(new TextEncoder().encode(plaintext), nonce, key);
      const out = new Uint8Array(nonce.length + box.length);
      out.set(nonce);
      out.set(box, nonce.length);
      return `v1.${id}.${toBase64(out)}`;
    },
    open(sealed) {
      const parts = sealed.split(".");
      if (parts.length !== 3 || parts[0] !== "v1") {
        throw new SealError("not a sealed value (expected v1.<key id>.<data>)");
      }
      if (parts[1] !== id) {
        throw new SealError(
          `sealed with server key ${parts[1]}, but the current server key is ${id}: ` +
            "is DESPACITO_SECRET_KEY_FILE (or the data dir's secret.key) the right file?",
        );
      }
      let raw: Uint8Array;
      try {
        raw = fromBase64(parts[2]);
      } catch (e) {
        throw new SealError("sealed value is not valid base64", { cause: e });
      }
      const nonce = raw.subarray(0, nacl.secretbox.nonceLength);
      const opened = nacl.secretbox.open(raw.subarray(nacl.secretbox.nonceLength), nonce, key);
      if (!opened) throw new SealError("sealed value failed authentication (corrupt or tampered)");
      return new TextDecoder().decode(opened);
    },
  };
}

/** The key id a sealed value needs, without opening it. */
export function sealedKeyId(sealed: string): string | undefined {
  const parts = sealed.split(".");
  return parts.length === 3 && parts[0] === "v1" ? parts[1] : undefined;
}

export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

export function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
