import assert from "node:assert/strict";
import {
  constantTimeEqual,
  hmacHex,
  payloadFrom,
  signatureFrom,
  verifySignature,
} from "./signature.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const headers = (h: Record<string, string>) => (n: string) => h[n];

Deno.test("hmacHex() matches the RFC 4231 test case 2 HMAC-SHA256", async () => {
  assert.equal(
    await hmacHex("Jefe", enc("what do ya want for nothing?")),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
});

Deno.test("signatureFrom() prefers X-Forgejo, then X-Gitea, then X-Hub-Signature-256", () => {
  assert.equal(signatureFrom(headers({ "x-forgejo-signature": "AB" })), "ab");
  assert.equal(signatureFrom(headers({ "x-gitea-signature": "cd" })), "cd");
  assert.equal(signatureFrom(headers({ "x-hub-signature-256": "sha256=ef" })), "ef");
  assert.equal(signatureFrom(headers({ "x-hub-signature-256": "ef" })), undefined);
  assert.equal(signatureFrom(headers({ "x-forgejo-signature": "" })), undefined);
  assert.equal(signatureFrom(headers({})), undefined);
});

Deno.test("payloadFrom() decodes the form payload field and keeps JSON bytes as they are", () => {
  const json = enc('{\n  "a": 1\n}');
  assert.equal(payloadFrom("application/json", json), json);
  const form = enc("payload=" + encodeURIComponent('{"a": "b c+d"}'));
  assert.deepEqual(
    new TextDecoder().decode(payloadFrom("application/x-www-form-urlencoded", form)!),
    '{"a": "b c+d"}',
  );
  assert.equal(payloadFrom("application/x-www-form-urlencoded", enc("other=1")), undefined);
});

Deno.test("verifySignature() accepts any of the secrets and refuses malformed signatures", async () => {
  const body = enc("payload");
  const sig = await hmacHex("new", body);
  assert.equal(await verifySignature(["old", "new"], body, sig), true);
  assert.equal(await verifySignature(["old"], body, sig), false);
  assert.equal(await verifySignature(["new"], body, sig.slice(1)), false);
  assert.equal(await verifySignature(["new"], body, undefined), false);
  assert.equal(await verifySignature(["new"], enc("payload "), sig), false);
});

Deno.test("constantTimeEqual() compares content and length", () => {
  assert.equal(constantTimeEqual("abc", "abc"), true);
  assert.equal(constantTimeEqual("abc", "abd"), false);
  assert.equal(constantTimeEqual("abc", "abcd"), false);
});
