import assert from "node:assert/strict";
import { parseIp, trustedProxyProblem } from "./trusted_proxies.ts";

Deno.test("parseIp() reads IPv4, IPv6 and IPv4-mapped addresses, refuses the rest", () => {
  assert.deepEqual(parseIp("10.0.0.1"), { v6: false, value: 0x0a000001n });
  assert.deepEqual(parseIp("::ffff:10.0.0.1"), { v6: false, value: 0x0a000001n });
  assert.equal(parseIp("::1")?.value, 1n);
  assert.equal(parseIp("2001:db8::1")?.value, 0x20010db8000000000000000000000001n);
  assert.equal(parseIp("[2001:db8::1]")?.v6, true);
  for (const bad of ["256.1.1.1", "1.2.3", "::1::2", "hello", "", "1:2:3:4:5:6:7:8:9"]) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

Deno.test("trustedProxyProblem() names every entry that is not an address, CIDR or unix", () => {
  assert.equal(trustedProxyProblem(["unix", "10.0.0.0/8", "::1", "fd00::/8"]), undefined);
  assert.match(trustedProxyProblem(["10.0.0.0/33", "caddy"])!, /10\.0\.0\.0\/33, caddy/);
});
