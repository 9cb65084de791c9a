import assert from "node:assert/strict";
import { createSealer, KEY_BYTES, sealedKeyId } from "./box.ts";

const key = () => crypto.getRandomValues(new Uint8Array(KEY_BYTES));

Deno.test("createSealer() round-trips a secret and never shows the plaintext", () => {
  const s = createSealer(key());
  const sealed = s.seal("my-personal-access-token");
  assert.match(sealed, /^v1\.[0-9a-f]{12}\.[A-Za-z0-9+/=]+$/);
  assert.ok(!sealed.includes("my-personal-access-token"));
  assert.notEqual(s.seal("x"), s.seal("x"), "a fresh nonce every time");
  assert.equal(s.open(sealed), "my-personal-access-token");
  assert.equal(sealedKeyId(sealed), s.keyId);
});

Deno.test("createSealer().open() names the key a value needs and refuses tampering", () => {
  const a = createSealer(key());
  const b = createSealer(key());
  const sealed = a.seal("secret");
  assert.throws(() => b.open(sealed), new RegExp(`sealed with server key ${a.keyId}`));
  const raw = sealed.split(".");
  const tampered = `${raw[0]}.${raw[1]}.${raw[2].slice(0, -6)}AAAAAA`;
  assert.throws(() => a.open(tampered), /failed authentication|base64/);
});
