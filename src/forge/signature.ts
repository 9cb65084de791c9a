/**
 * Webhook signatures as Forgejo and Gitea send them: HMAC-SHA256 of the
 * payload bytes with the webhook secret, hex, in `X-Forgejo-Signature` /
 * `X-Gitea-Signature` (bare) or `X-Hub-Signature-256` (`sha256=` prefix).
 * For the json content type the payload is the exact body received; for
 * form it is the decoded `payload=` field (that is what the forge signs).
 * Comparison is constant-time. Never logs or returns the secret.
 */

type HeaderGetter = (name: string) => string | undefined;

/** The signature a delivery carries; undefined when missing or empty. */
export function signatureFrom(header: HeaderGetter): string | undefined {
  for (const name of ["x-forgejo-signature", "x-gitea-signature"]) {
    const v = header(name)?.trim();
    if (v) return v.toLowerCase();
  }
  const hub = header("x-hub-signature-256")?.trim();
  if (hub && /^sha256=/i.test(hub) && hub.length > 7) return hub.slice(7).toLowerCase();
  return undefined;
}

/**
 * The signed payload of a delivery: the raw body for JSON, the decoded
 * `payload` field for application/x-www-form-urlencoded. Undefined when a
 * form body has no payload field.
 */
export function payloadFrom(contentType: string | undefined, body: Uint8Array) {
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") return body;
  const payload = new URLSearchParams(new TextDecoder().decode(body)).get("payload");
  return payload === null ? undefined : new TextEncoder().encode(payload);
}

export async function hmacHex(secret: string, data: Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, data as BufferSource));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares two strings in time that depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** True when `signature` is the HMAC of `payload` under any of `secrets`. */
export async function verifySignature(
  secrets: string[],
  payload: Uint8Array,
  signature: string | undefined,
): Promise<boolean> {
  if (!signature || !/^[0-9a-f]{64}$/.test(signature)) return false;
  let ok = false;
  // Check every secret (no early exit), so timing does not tell which one matched.
  for (const s of secrets) {
    if (constantTimeEqual(await hmacHex(s, payload), signature)) ok = true;
  }
  return ok;
}
