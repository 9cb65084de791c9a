/**
 * Who is on the other end: the client address used for rate limits and
 * login logs. It is the socket peer, unless that peer is a trusted proxy
 * (DESPACITO_TRUSTED_PROXIES; `unix` trusts the Unix socket peer, i.e.
 * Caddy), in which case X-Forwarded-For is read from the right, skipping
 * trusted hops. Never trusts a header from an untrusted peer. The
 * address parsing lives beside the config (src/config/trusted_proxies.ts).
 */

import { parseIp, trustedIp, type TrustedProxies } from "../config/trusted_proxies.ts";

interface Peer {
  label: string;
  trusted: (t: TrustedProxies) => boolean;
}

const UNKNOWN: Peer = { label: "unknown", trusted: () => false };
const UNIX: Peer = { label: "unix", trusted: (t) => t.unix };
// Peers repeat (a proxy, a CI runner): each address is parsed once. Bounded, as addresses
// come from anywhere.
const peers = new Map<string, Peer>();

function peerOf(remote: Deno.Addr | undefined): Peer {
  if (!remote) return UNKNOWN;
  if (!("hostname" in remote)) return UNIX;
  const host = remote.hostname;
  let peer = peers.get(host);
  if (peer) return peer;
  const ip = parseIp(host);
  peer = {
    label: ip && !ip.v6 ? host.replace(/^::ffff:/i, "") : host,
    trusted: (t) => ip !== undefined && trustedIp(ip, t),
  };
  if (peers.size >= 1_000) peers.clear();
  peers.set(host, peer);
  return peer;
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
