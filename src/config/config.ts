/**
 * Turns the environment into a frozen Config, reporting every problem at
 * once. Owns the *_FILE convention for secrets (systemd credentials, NixOS
 * agenix/sops files). Never logs a value; never reads anything but the
 * environment and the *_FILE files it is pointed at.
 */

import { parseDuration } from "../core/duration.ts";
import { OPTIONS, type OptionSpec } from "./table.ts";

export interface Config {
  listen: string;
  listenSocket?: string;
  listenSocketMode: number;
  baseUrl?: string;
  dataDir: string;
  flakeDir?: string;
  configFile?: string;
  colmenaBin: string;
  nixBin: string;
  gitBin: string;
  logLevel: "debug" | "info" | "warn" | "error";
  postgresUri?: string;
  postgresPoolSize: number;
  sessionCookieSecure: boolean;
  shutdownTimeoutMs: number;
  tokenBootstrap: boolean;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  // sign-in (src/auth)
  oidcIssuerUrls?: string[];
  oidcClientId?: string;
  oidcClientSecret?: string;
  oidcClientIds?: string;
  oidcClientSecrets?: string;
  oidcProviderNames?: string;
  oidcRedirectUrl?: string;
  oidcAllowHttp: boolean;
  localAuth: boolean;
  adminPasswordFile?: string;
  sessionIdleTimeoutMs: number;
  sessionMaxAgeMs: number;
  trustedProxies?: string[];
  authRateLimit: number;
  authRateWindowMs: number;
  cliAccessTokenTtlMs: number;
  cliRefreshTokenTtlMs: number;
  cliUrl?: string;
  cliToken?: string;
  // forge and sealed secrets
  secretKeyFile?: string;
  forgeTimeoutMs: number;
  forgeStatusAttempts: number;
  forgeStatusBackoffMs: number;
  forgeSecretOverlapMs: number;
  // deploy
  flakeRefSchemes: string[];
  deployTimeoutMs: number;
  nixTimeoutMs: number;
  driftIntervalMs?: number;
  execEnv: string[];
  gitAuthorName: string;
  gitAuthorEmail: string;
  // the flake's remote (src/deploy/remote.ts)
  flakeRemote?: string;
  flakeBranch?: string;
  flakeSshKeyFile?: string;
  flakeKnownHostsFile?: string;
  flakeTokenFile?: string;
  gitSigningKeyFile?: string;
  // several instances on one database (src/deploy/lease.ts)
  ha: boolean;
  instanceName?: string;
  // operations (src/ops)
  metrics: "off" | "public" | "token";
  queueLimit: number;
  webhookWaitingLimit: number;
  notifySecrets?: string;
  notifyAttempts: number;
  notifyBackoffMs: number;
  notifyTimeoutMs: number;
  // Exactly the keys of OPTIONS (table.ts): a field without a row, or a row without a field, does
  // not compile, and neither does a misspelt `config.flakeDri`.
}

export interface ConfigProblem {
  variable: string;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(
      `invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join("\n")}`,
    );
    this.name = "ConfigError";
    this.problems = problems;
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface LoadOptions {
  readFile?: (path: string) => string;
}

/** Reads every option from `env`; throws ConfigError listing all problems. */
export function loadConfig(env: Env, options: LoadOptions = {}): Readonly<Config> {
  const readFile = options.readFile ?? ((p: string) => Deno.readTextFileSync(p));
  const problems: ConfigProblem[] = [];
  const out: Record<string, unknown> = {};

  for (const spec of OPTIONS) {
    const raw = rawValue(spec, env, readFile, problems);
    if (raw === undefined) {
      out[spec.key] = spec.default === undefined ? undefined : parseValue(spec, spec.default);
      continue;
    }
    const parsed = parseValue(spec, raw);
    if (parsed instanceof Problem) {
      problems.push({ variable: spec.env, message: parsed.message });
      continue;
    }
    const invalid = spec.validate?.(parsed);
    if (invalid) {
      problems.push({ variable: spec.env, message: invalid });
      continue;
    }
    out[spec.key] = parsed;
  }

  for (const name of Object.keys(env)) {
    if (!name.startsWith("DESPACITO_") || KNOWN.has(name)) continue;
    problems.push({ variable: name, message: "unknown variable (see `despacito help config`)" });
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as Readonly<Config>;
}

const KNOWN = new Set(OPTIONS.flatMap((o) => (o.secret ? [o.env, `${o.env}_FILE`] : [o.env])));

class Problem {
  constructor(readonly message: string) {}
}

function rawValue(
  spec: OptionSpec,
  env: Env,
  readFile: (path: string) => string,
  problems: ConfigProblem[],
): string | undefined {
  const direct = env[spec.env];
  const file = spec.secret ? env[`${spec.env}_FILE`] : undefined;
  if (direct !== undefined && direct !== "" && file) {
    problems.push({
      variable: spec.env,
      message: `set either ${spec.env} or ${spec.env}_FILE, not both`,
    });
    return undefined;
  }
  if (file) {
    try {
      // Files written by editors and `echo` end in a newline that is not part of the secret.
      return readFile(file).replace(/\r?\n$/, "");
    } catch (e) {
      problems.push({
        variable: `${spec.env}_FILE`,
        message: `cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`,
      });
      return undefined;
    }
  }
  return direct === "" ? undefined : direct;
}

function parseValue(spec: OptionSpec, raw: string): unknown {
  const v = raw.trim();
  switch (spec.type) {
    case "string":
    case "path":
      return v;
    case "boolean": {
      if (/^(1|true|yes|on)$/i.test(v)) return true;
      if (/^(0|false|no|off)$/i.test(v)) return false;
      return new Problem(`must be true or false, got "${v}"`);
    }
    case "integer":
      return /^\d+$/.test(v) ? Number(v) : new Problem(`must be a whole number, got "${v}"`);
    case "duration": {
      const ms = parseDuration(v);
      return ms === undefined
        ? new Problem(`must be a duration like 30s, 5m or 1h, got "${v}"`)
        : ms;
    }
    case "filemode":
      return /^0?[0-7]{3}$/.test(v)
        ? parseInt(v, 8)
        : new Problem(`must be an octal mode like 0660, got "${v}"`);
    case "url": {
      try {
        const u = new URL(v);
        if (u.protocol !== "http:" && u.protocol !== "https:") {
          return new Problem("must be an http(s) URL");
        }
        return v.replace(/\/+$/, "");
      } catch {
        return new Problem(`must be an absolute URL, got "${v}"`);
      }
    }
    case "address": {
      const m = /^(.*):(\d{1,5})$/.exec(v);
      if (!m || Number(m[2]) > 65535) return new Problem(`must be host:port or :port, got "${v}"`);
      return v;
    }
    case "list":
      return v.split(",").map((s) => s.trim()).filter(Boolean);
    case "enum":
      return spec.values?.includes(v)
        ? v
        : new Problem(`must be one of ${spec.values?.join(", ")}, got "${v}"`);
  }
}

/** Splits a listen address into hostname and port (":8080" → 0.0.0.0:8080). */
export function parseListen(listen: string): { hostname: string; port: number } {
  const i = listen.lastIndexOf(":");
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, "$1");
  return { hostname: host === "" ? "0.0.0.0" : host, port: Number(listen.slice(i + 1)) };
}
