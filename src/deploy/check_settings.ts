/**
 * The `checks`, `soak` and `on_failure` keys of a package in
 * DESPACITO_CONFIG: what "healthy after activation" means for it. Parsing
 * only, every problem reported with its path; running them is checks.ts.
 *
 *   checks:
 *     - name: homepage
 *       http: { url: "https://web1/health", status: 200, body: "ok", timeout: 5s, retries: 3, interval: 2s }
 *     - name: unit
 *       command: ["systemctl", "is-active", "my-webapp"]
 */

import { parseDuration } from "../core/duration.ts";

interface CheckBase {
  name: string;
  timeoutMs: number;
  /** Further attempts after a failed one. */
  retries: number;
  intervalMs: number;
}

export interface HttpCheck extends CheckBase {
  kind: "http";
  url: string;
  status: number;
  /** A regular expression the body must match. */
  body: string | null;
}

export interface CommandCheck extends CheckBase {
  kind: "command";
  /** Run on the deployed nodes through `colmena exec`. */
  argv: string[];
}

export type Check = HttpCheck | CommandCheck;

export const ON_FAILURE = ["rollback", "hold"] as const;
export type OnFailure = typeof ON_FAILURE[number];

const CHECK_KEYS = ["name", "http", "command", "timeout", "retries", "interval"];
const HTTP_KEYS = ["url", "status", "body", "timeout", "retries", "interval"];

function duration(
  where: string,
  v: unknown,
  fallback: number,
  problems: string[],
): number {
  if (v === undefined) return fallback;
  const ms = typeof v === "string" ? parseDuration(v) : undefined;
  if (ms !== undefined && ms > 0) return ms;
  problems.push(`${where}: a duration such as "5s"`);
  return fallback;
}

function count(where: string, v: unknown, fallback: number, problems: string[]): number {
  if (v === undefined) return fallback;
  if (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 100) return v as number;
  problems.push(`${where}: a whole number from 0 to 100`);
  return fallback;
}

function parseOne(where: string, v: unknown, problems: string[]): Check | undefined {
  if (!v || typeof v !== "object" || Array.isArray(v)) {
    problems.push(`${where}: a mapping with name and http or command`);
    return undefined;
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!CHECK_KEYS.includes(k)) problems.push(`${where}.${k}: unknown key`);
  }
  const name = typeof o.name === "string" && /^[A-Za-z0-9._-]{1,64}$/.test(o.name)
    ? o.name
    : (problems.push(`${where}.name: required, 1-64 letters, digits, . _ -`), "");
  if ((o.http === undefined) === (o.command === undefined)) {
    problems.push(`${where}: exactly one of http or command`);
    return undefined;
  }
  if (o.command !== undefined) {
    const argv = o.command;
    if (
      !Array.isArray(argv) || argv.length === 0 ||
      !argv.every((a) => typeof a === "string" && a !== "")
    ) {
      problems.push(`${where}.command: a non-empty list of strings (argv, no shell)`);
      return undefined;
    }
    return {
      kind: "command",
      name,
      argv: argv as string[],
      timeoutMs: duration(`${where}.timeout`, o.timeout, 30_000, problems),
      retries: count(`${where}.retries`, o.retries, 0, problems),
      intervalMs: duration(`${where}.interval`, o.interval, 2_000, problems),
    };
  }
  const h = o.http;
  if (!h || typeof h !== "object" || Array.isArray(h)) {
    problems.push(`${where}.http: a mapping with url`);
    return undefined;
  }
  const hh = h as Record<string, unknown>;
  for (const k of Object.keys(hh)) {
    if (!HTTP_KEYS.includes(k)) problems.push(`${where}.http.${k}: unknown key`);
  }
  let url = "";
  try {
    const u = new URL(String(hh.url));
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("scheme");
    url = u.toString();
  } catch {
    problems.push(`${where}.http.url: an http(s) URL`);
  }
  const status = hh.status === undefined ? 200 : hh.status;
  if (!Number.isInteger(status) || (status as number) < 100 || (status as number) > 599) {
    problems.push(`${where}.http.status: an HTTP status code`);
  }
  let body: string | null = null;
  if (hh.body !== undefined) {
    try {
      new RegExp(String(hh.body));
      body = String(hh.body);
    } catch {
      problems.push(`${where}.http.body: a regular expression`);
    }
  }
  return {
    kind: "http",
    name,
    url,
    status: status as number,
    body,
    timeoutMs: duration(`${where}.http.timeout`, hh.timeout ?? o.timeout, 10_000, problems),
    retries: count(`${where}.http.retries`, hh.retries ?? o.retries, 0, problems),
    intervalMs: duration(`${where}.http.interval`, hh.interval ?? o.interval, 2_000, problems),
  };
}

export function parseChecks(where: string, v: unknown, problems: string[]): Check[] {
  if (!Array.isArray(v)) {
    problems.push(`${where}: a list of checks`);
    return [];
  }
  const checks = v.map((c, i) => parseOne(`${where}[${i}]`, c, problems))
    .filter((c): c is Check => c !== undefined);
  const names = checks.map((c) => c.name);
  const twice = names.filter((n, i) => n !== "" && names.indexOf(n) !== i);
  if (twice.length) problems.push(`${where}: names must be unique (${[...new Set(twice)]})`);
  return checks;
}

export function parseOnFailure(where: string, v: unknown, problems: string[]): OnFailure {
  if (ON_FAILURE.includes(v as OnFailure)) return v as OnFailure;
  problems.push(`${where}: one of ${ON_FAILURE.join(", ")}`);
  return "rollback";
}

export function parseSoak(where: string, v: unknown, problems: string[]): number {
  return duration(where, v, 0, problems);
}
