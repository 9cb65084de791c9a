/**
 * Notification targets from DESPACITO_CONFIG's `notifications` list, their
 * secrets from DESPACITO_NOTIFY_SECRETS (`NAME=SECRET` lines, usually via
 * `_FILE`). Every problem is reported at once. Pure apart from reading the
 * file; re-read by the notifier when the file changes.
 *
 *   notifications:
 *     - { name: ops, type: webhook, url: "https://hooks.example/despacito", events: [failed] }
 *     - { name: phone, type: ntfy, url: "https://ntfy.example/deploys", packages: [webapp] }
 */

export const NOTIFY_EVENTS = [
  "queued",
  "started",
  "deployed",
  "failed",
  "cancelled",
  "rolled_back",
  "held",
] as const;
export type NotifyEvent = typeof NOTIFY_EVENTS[number];
export const TARGET_TYPES = ["webhook", "ntfy"] as const;

export interface Target {
  name: string;
  type: typeof TARGET_TYPES[number];
  url: string;
  /** Webhook: the HMAC key (required). ntfy: an access token (optional). */
  secret?: string;
  events: readonly NotifyEvent[];
  /** null: every package. */
  packages: string[] | null;
}

export class NotifyConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`notifications: ${problems.join("; ")}`);
    this.name = "NotifyConfigError";
  }
}

const KEYS = ["name", "type", "url", "events", "packages"];
const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** `NAME=SECRET` entries, one a line (or comma-separated). */
export function parseSecrets(text: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of (text ?? "").split(/[\n,]/)) {
    const i = entry.indexOf("=");
    if (i > 0) out.set(entry.slice(0, i).trim(), entry.slice(i + 1).trim());
  }
  return out;
}

/** The YAML parser is loaded on first use: only a configuration with DESPACITO_CONFIG needs it. */
export async function parseTargets(text: string, secrets: Map<string, string>): Promise<Target[]> {
  const { parse } = await import("yaml");
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new NotifyConfigError([`not valid YAML: ${(e as Error).message}`]);
  }
  const list = (doc as Record<string, unknown> | null)?.notifications;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new NotifyConfigError(["must be a list of targets"]);
  const problems: string[] = [];
  const targets: Target[] = [];
  const seen = new Set<string>();
  list.forEach((raw, i) => {
    const t = (raw ?? {}) as Record<string, unknown>;
    const where = `notifications[${i}]`;
    for (const k of Object.keys(t)) {
      if (!KEYS.includes(k)) problems.push(`${where}.${k}: unknown key (use ${KEYS.join(", ")})`);
    }
    const name = typeof t.name === "string" && NAME.test(t.name) ? t.name : undefined;
    if (!name) problems.push(`${where}.name: lowercase letters, digits, - and _`);
    else if (seen.has(name)) problems.push(`${where}.name: ${name} is used twice`);
    else seen.add(name);
    const type = TARGET_TYPES.find((x) => x === t.type);
    if (!type) problems.push(`${where}.type: one of ${TARGET_TYPES.join(", ")}`);
    let url: string | undefined;
    try {
      const u = new URL(String(t.url));
      if (u.protocol === "https:" || u.protocol === "http:") url = u.href;
    } catch { /* reported below */ }
    if (!url) problems.push(`${where}.url: an http(s) URL`);
    let events: NotifyEvent[] = [...NOTIFY_EVENTS];
    if (t.events !== undefined) {
      const ok = Array.isArray(t.events) && t.events.length > 0 &&
        t.events.every((e) => (NOTIFY_EVENTS as readonly unknown[]).includes(e));
      if (ok) events = t.events as NotifyEvent[];
      else problems.push(`${where}.events: a non-empty list of ${NOTIFY_EVENTS.join(", ")}`);
    }
    let packages: string[] | null = null;
    if (t.packages !== undefined) {
      const ok = Array.isArray(t.packages) && t.packages.length > 0 &&
        t.packages.every((p) => typeof p === "string" && p !== "");
      if (ok) packages = t.packages as string[];
      else problems.push(`${where}.packages: a non-empty list of package names`);
    }
    const secret = name ? secrets.get(name) : undefined;
    if (name && type === "webhook" && !secret) {
      problems.push(
        `${where}: webhook ${name} needs its signing secret in DESPACITO_NOTIFY_SECRETS`,
      );
    }
    if (name && type && url) targets.push({ name, type, url, secret, events, packages });
  });
  if (problems.length > 0) throw new NotifyConfigError(problems);
  return targets;
}
