/**
 * The `stages` and `promotion_timeout` keys of a package in
 * DESPACITO_CONFIG: a progressive rollout, activated stage by stage, each
 * with its own colmena selector, checks and soak, and a gate after it —
 * `auto` (promote once its checks and soak passed) or `manual` (wait for
 * POST /api/deployments/:id/promote, up to promotion_timeout). Parsing
 * only; the pipeline runs them (steps/stages.ts).
 *
 *   stages:
 *     - { name: canary, on: "@canary", soak: 10m, promote: manual, checks: [...] }
 *     - { name: fleet, on: "@web" }
 */

import { parseDuration } from "../core/duration.ts";
import { type Check, parseChecks, parseSoak } from "./check_settings.ts";

export interface Stage {
  name: string;
  /** colmena --on selector; null: every node. */
  on: string | null;
  /** Undefined: the package's own checks. */
  checks?: Check[];
  soakMs?: number;
  promote: "auto" | "manual";
}

/** colmena's --on: comma-separated node names (globs allowed) and @tags. */
export const SELECTOR =
  /^(@[A-Za-z0-9_.-]+|[A-Za-z0-9_.*-]+)(,(@[A-Za-z0-9_.-]+|[A-Za-z0-9_.*-]+))*$/;

const STAGE_KEYS = ["name", "on", "checks", "soak", "promote"];

export function parseSelector(where: string, v: unknown, problems: string[]): string | null {
  if (v === null) return null;
  if (typeof v === "string" && SELECTOR.test(v)) return v;
  problems.push(`${where}: a colmena node selector such as "@web" or "alpha,beta"`);
  return null;
}

export function parseStages(where: string, v: unknown, problems: string[]): Stage[] {
  if (!Array.isArray(v) || v.length === 0) {
    problems.push(`${where}: a non-empty list of stages`);
    return [];
  }
  const stages: Stage[] = [];
  v.forEach((s, i) => {
    const at = `${where}[${i}]`;
    if (!s || typeof s !== "object" || Array.isArray(s)) {
      problems.push(`${at}: a mapping with name and on`);
      return;
    }
    const o = s as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (!STAGE_KEYS.includes(k)) problems.push(`${at}.${k}: unknown key`);
    }
    const name = typeof o.name === "string" && /^[A-Za-z0-9._-]{1,64}$/.test(o.name)
      ? o.name
      : (problems.push(`${at}.name: required, 1-64 letters, digits, . _ -`), "");
    if (o.on === undefined) problems.push(`${at}.on: required (null for every node)`);
    const stage: Stage = {
      name,
      on: o.on === undefined ? null : parseSelector(`${at}.on`, o.on, problems),
      promote: "auto",
    };
    if (o.checks !== undefined) stage.checks = parseChecks(`${at}.checks`, o.checks, problems);
    if (o.soak !== undefined) stage.soakMs = parseSoak(`${at}.soak`, o.soak, problems);
    if (o.promote !== undefined) {
      if (o.promote === "auto" || o.promote === "manual") stage.promote = o.promote;
      else problems.push(`${at}.promote: auto or manual`);
    }
    stages.push(stage);
  });
  const names = stages.map((s) => s.name);
  const twice = names.filter((n, i) => n !== "" && names.indexOf(n) !== i);
  if (twice.length) problems.push(`${where}: names must be unique (${[...new Set(twice)]})`);
  return stages;
}

export function parsePromotionTimeout(where: string, v: unknown, problems: string[]): number {
  const ms = typeof v === "string" ? parseDuration(v) : undefined;
  if (ms !== undefined && ms > 0) return ms;
  problems.push(`${where}: a duration such as "24h"`);
  return 24 * 3_600_000;
}
