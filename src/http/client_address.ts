/**
 * Who is on the other end: the client address used for rate limits and
 * login logs. It is the socket peer, unless that peer is a trusted proxy
 * (DESPACITO_TRUSTED_PROXIES; `unix` trusts the Unix socket peer, i.e.
 * Caddy), in which case X-Forwarded-For is read from the right, skipping
 * trusted hops. Never trusts a header from an untrusted peer. The
 * address parsing lives beside the config (src/config/trusted_proxies.ts).
 */

import { parseIp, trustedIp, type TrustedProxies } from "../config/trusted_proxies.ts";

function peerOf(
  remote: Deno.Addr | undefined,
): { label: string; trusted: (t: TrustedProxies) => boolean } {
  if (!remote) return { label: "unknown", trusted: () => false };
  if (!("hostname" in remote)) return { label: "unix", trusted: (t) => t.unix };
  const host = remote.hostname;
  const ip = parseIp(host);
  return {
    label: ip && !ip.v6 ? host.replace(/^::ffff:/i, "") : host,
    trusted: (t) => ip !== undefined && trustedIp(ip, t),
  };
}

/** The client address for this request (see the file comment for the rules). */
export function clientAddress(
  remote: Deno.Addr | undefined,
  forwardedFor: string | undefined,
  trusted: TrustedProxies,
): string {
  const peer = peerOf(remote);
  if (!peer.trusted(trusted) || !forwardedFor) return peer.label;
  const hops = forwardedFor.split(",").map((h) => h.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const ip = parseIp(hops[i]);
    // Garbage in the header is as far as we can trust it: stop and report the peer.
    if (!ip) return i === hops.length - 1 ? peer.label : hops[i + 1];
    if (!trustedIp(ip, trusted) || i === 0) return hops[i].replace(/^\[(.*)\]$/, "$1");
  }
  return peer.label;
}
