/**
 * Per-package deployment settings from DESPACITO_CONFIG (YAML; JSON is valid
 * YAML): the colmena `--on` selector, goal, extra arguments and timeout, with
 * `defaults` for every package. No file: all nodes, goal `switch`,
 * DESPACITO_DEPLOY_TIMEOUT. The file is re-read when it changes; every
 * problem in it is reported at once. Never runs anything.
 *
 *   defaults: { goal: switch, timeout: 30m }
 *   packages:
 *     my-webapp: { on: "@web", extra_args: ["--parallel", "2"], timeout: 10m }
 */

import { parseDuration } from "../core/duration.ts";
import {
  type Check,
  type OnFailure,
  parseChecks,
  parseOnFailure,
  parseSoak,
} from "./check_settings.ts";
import { parsePromotionTimeout, parseSelector, parseStages, type Stage } from "./stage_settings.ts";

export const GOALS = ["switch", "boot", "test", "dry-activate", "build", "push"] as const;
export type Goal = typeof GOALS[number];

export interface PackageSettings {
  on: string | null;
  goal: Goal;
  extraArgs: string[];
  timeoutMs: number;
  /** Run after activation; a failure rolls the fleet back (or holds the package). */
  checks: Check[];
  /** Keep re-running the checks this long before declaring success (0: once). */
  soakMs: number;
  onFailure: OnFailure;
  /** A progressive rollout; none: one implicit stage of `on`, `checks` and `soak`. */
  stages: Stage[] | null;
  /** How long a manual gate waits for promotion before the deployment aborts with rollback. */
  promotionTimeoutMs: number;
}

export interface SettingsFile {
  defaults: Partial<PackageSettings>;
  packages: Record<string, Partial<PackageSettings>>;
}

export class SettingsError extends Error {
  readonly problems: string[];
  constructor(file: string, problems: string[]) {
    super(`${file}: ${problems.join("; ")}`);
    this.name = "SettingsError";
    this.problems = problems;
  }
}

const KEYS = [
  "on",
  "goal",
  "extra_args",
  "timeout",
  "checks",
  "soak",
  "on_failure",
  "stages",
  "promotion_timeout",
];

function parseBlock(where: string, v: unknown, problems: string[]): Partial<PackageSettings> {
  if (v === null || v === undefined) return {};
  if (typeof v !== "object" || Array.isArray(v)) {
    problems.push(`${where} must be a mapping`);
    return {};
  }
  const o = v as Record<string, unknown>;
  const out: Partial<PackageSettings> = {};
  for (const k of Object.keys(o)) {
    if (!KEYS.includes(k)) problems.push(`${where}.${k}: unknown setting (use ${KEYS.join(", ")})`);
  }
  if (o.on !== undefined) out.on = parseSelector(`${where}.on`, o.on, problems);
  if (o.stages !== undefined) out.stages = parseStages(`${where}.stages`, o.stages, problems);
  if (o.promotion_timeout !== undefined) {
    out.promotionTimeoutMs = parsePromotionTimeout(
      `${where}.promotion_timeout`,
      o.promotion_timeout,
      problems,
    );
  }
  if (o.goal !== undefined) {
    if (GOALS.includes(o.goal as Goal)) out.goal = o.goal as Goal;
    else problems.push(`${where}.goal: one of ${GOALS.join(", ")}`);
  }
  if (o.extra_args !== undefined) {
    if (Array.isArray(o.extra_args) && o.extra_args.every((a) => typeof a === "string")) {
      out.extraArgs = o.extra_args as string[];
    } else problems.push(`${where}.extra_args: a list of strings`);
  }
  if (o.timeout !== undefined) {
    const ms = typeof o.timeout === "string" ? parseDuration(o.timeout) : undefined;
    if (ms !== undefined && ms > 0) out.timeoutMs = ms;
    else problems.push(`${where}.timeout: a duration such as "30m"`);
  }
  if (o.checks !== undefined) out.checks = parseChecks(`${where}.checks`, o.checks, problems);
  if (o.soak !== undefined) out.soakMs = parseSoak(`${where}.soak`, o.soak, problems);
  if (o.on_failure !== undefined) {
    out.onFailure = parseOnFailure(`${where}.on_failure`, o.on_failure, problems);
  }
  return out;
}

/**
 * Parses the file's text; throws SettingsError listing every problem. The YAML parser is loaded
 * here, on first use: without DESPACITO_CONFIG a server never pays its start time and memory.
 */
export async function parseSettings(file: string, text: string): Promise<SettingsFile> {
  const { parse: parseYaml } = await import("yaml");
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new SettingsError(file, [`not valid YAML: ${(e as Error).message}`]);
  }
  if (doc === null || doc === undefined) return { defaults: {}, packages: {} };
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new SettingsError(file, ["the top level must be a mapping with defaults/packages"]);
  }
  const problems: string[] = [];
  const top = doc as Record<string, unknown>;
  for (const k of Object.keys(top)) {
    // `notifications` belongs to the ops area (src/ops/notify_config.ts), which checks it.
    if (k !== "defaults" && k !== "packages" && k !== "notifications") {
      problems.push(`${k}: unknown key`);
    }
  }
  const defaults = parseBlock("defaults", top.defaults, problems);
  const packages: Record<string, Partial<PackageSettings>> = {};
  if (top.packages !== undefined && top.packages !== null) {
    if (typeof top.packages !== "object" || Array.isArray(top.packages)) {
      problems.push("packages must be a mapping of package name to settings");
    } else {
      for (const [name, v] of Object.entries(top.packages)) {
        packages[name] = parseBlock(`packages.${name}`, v, problems);
      }
    }
  }
  if (problems.length > 0) throw new SettingsError(file, problems);
  return { defaults, packages };
}

export function resolveSettings(
  file: SettingsFile,
  pkg: string,
  defaultTimeoutMs: number,
): PackageSettings {
  const base: PackageSettings = {
    on: null,
    goal: "switch",
    extraArgs: [],
    timeoutMs: defaultTimeoutMs,
    checks: [],
    soakMs: 0,
    onFailure: "rollback",
    stages: null,
    promotionTimeoutMs: 24 * 3_600_000,
  };
  return { ...base, ...file.defaults, ...file.packages[pkg] };
}

export interface SettingsSource {
  /** Settings for one package; throws SettingsError when the file became invalid. */
  forPackage(pkg: string): Promise<PackageSettings>;
}

export function createSettingsSource(
  path: string | undefined,
  defaultTimeoutMs: number,
): SettingsSource {
  let cache: { key: string; file: SettingsFile } | undefined;
  const load = async (): Promise<SettingsFile> => {
    if (!path) return { defaults: {}, packages: {} };
    let key: string;
    try {
      const s = await Deno.stat(path);
      key = `${s.mtime?.getTime()}:${s.size}:${s.ino}`;
    } catch (e) {
      throw new SettingsError(path, [`cannot read: ${(e as Error).message}`]);
    }
    if (cache?.key === key) return cache.file;
    const file = await parseSettings(path, await Deno.readTextFile(path));
    cache = { key, file };
    return file;
  };
  return { forPackage: async (pkg) => resolveSettings(await load(), pkg, defaultTimeoutMs) };
}
