/**
 * DESPACITO_TRUSTED_PROXIES: IP addresses, CIDR ranges and `unix` (the Unix
 * socket peer, i.e. Caddy). Lives beside the config table, which validates
 * the option with `trustedProxyProblem`; sign-in reads the parsed ranges to
 * find the client address (src/auth/client_address.ts). A leaf module: no
 * I/O, pure parsing.
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

export interface Ip {
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

/** Whether `ip` lies in one of the trusted ranges. */
export function trustedIp(ip: Ip, trusted: TrustedProxies): boolean {
  return trusted.nets.some((n) => {
    const max = n.v6 ? 128 : 32;
    return n.v6 === ip.v6 && ip.value >> BigInt(max - n.bits) === n.base;
  });
}
