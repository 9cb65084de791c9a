/**
 * Who is on the other end: the client address used for rate limits and
 * login logs. It is the socket peer, unless that peer is a trusted proxy
 * (DESPACITO_TRUSTED_PROXIES; `unix` trusts the Unix socket peer, i.e.
 * Caddy), in which case X-Forwarded-For is read from the right, skipping
 * trusted hops. Never trusts a header from an untrusted peer. A leaf
 * module: no I/O, imported by the config table for validation.
 */

export interface TrustedProxies {
  unix: boolean;
  nets: Cidr[];
}

interface Cidr {
  v6: boolean;
  base: bigint;
  bits: number;
}

interface Ip {
  v6: boolean;
  value: bigint;
}

export function parseIp(text: string): Ip | undefined {
  const s = text.trim().replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  if (mapped) return parseIp(mapped[1]);
  if (/^\d+\.\d+\.\d+\.\d+$/.test(s)) {
    const parts = s.split(".").map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return { v6: false, value: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n) };
  }
  if (!/^[0-9a-f:]+$/i.test(s) || !s.includes(":")) return undefined;
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (all.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return { v6: true, value: all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

function parseCidr(text: string): Cidr | undefined {
  const [addr, prefix, ...rest] = text.split("/");
  if (rest.length > 0) return undefined;
  const ip = parseIp(addr);
  if (!ip) return undefined;
  const max = ip.v6 ? 128 : 32;
  const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  if (!(bits >= 0 && bits <= max)) return undefined;
  return { v6: ip.v6, base: ip.value >> BigInt(max - bits), bits };
}

/** Config validation: names every entry that is not an address, a CIDR or `unix`. */
export function trustedProxyProblem(entries: string[]): string | undefined {
  const bad = entries.filter((e) => e !== "unix" && !parseCidr(e));
  return bad.length > 0 ? `not an IP address, CIDR range or "unix": ${bad.join(", ")}` : undefined;
}

export function parseTrustedProxies(entries: readonly string[] = []): TrustedProxies {
  const nets: Cidr[] = [];
  for (const e of entries) {
    if (e === "unix") continue;
    const net = parseCidr(e);
    if (!net) throw new Error(`invalid trusted proxy entry: ${e}`);
    nets.push(net);
  }
  return { unix: entries.includes("unix"), nets };
}

function trustedIp(ip: Ip, trusted: TrustedProxies): boolean {
  return trusted.nets.some((n) => {
    const max = n.v6 ? 128 : 32;
    return n.v6 === ip.v6 && ip.value >> BigInt(max - n.bits) === n.base;
  });
}

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
