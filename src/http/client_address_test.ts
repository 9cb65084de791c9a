import assert from "node:assert/strict";
import { parseTrustedProxies } from "../config/trusted_proxies.ts";
import { clientAddress } from "./client_address.ts";

const tcp = (hostname: string): Deno.Addr => ({ transport: "tcp", hostname, port: 1234 });
const unix: Deno.Addr = { transport: "unix", path: "/run/despacito/http.sock" };

Deno.test("clientAddress() ignores X-Forwarded-For from an untrusted peer", () => {
  const none = parseTrustedProxies([]);
  assert.equal(clientAddress(tcp("192.0.2.1"), "198.51.100.1", none), "192.0.2.1");
  assert.equal(clientAddress(unix, "198.51.100.1", none), "unix");
  assert.equal(clientAddress(undefined, "198.51.100.1", none), "unknown");
  assert.equal(clientAddress(tcp("::ffff:192.0.2.1"), undefined, none), "192.0.2.1");
});

Deno.test("clientAddress() reads X-Forwarded-For from the right, skipping trusted hops", () => {
  const t = parseTrustedProxies(["unix", "10.0.0.0/8"]);
  assert.equal(clientAddress(unix, "198.51.100.1", t), "198.51.100.1");
  // A client-supplied left part is not believed: the first untrusted hop from the right wins.
  assert.equal(clientAddress(unix, "6.6.6.6, 198.51.100.1, 10.1.2.3", t), "198.51.100.1");
  assert.equal(clientAddress(tcp("10.9.9.9"), "10.0.0.2, 10.0.0.1", t), "10.0.0.2");
  assert.equal(clientAddress(tcp("10.9.9.9"), undefined, t), "10.9.9.9");
  assert.equal(clientAddress(tcp("192.0.2.9"), "198.51.100.1", t), "192.0.2.9");
  assert.equal(clientAddress(unix, "not-an-ip", t), "unix");
});
