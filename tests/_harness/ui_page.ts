/**
 * Reading the deployment page from the browser tests: its log lines (seq,
 * stream, text), the stored log to compare them with, and polling a page
 * condition with a deadline (never a sleep). Browser-side code is passed as
 * strings: the tests are type-checked without the DOM lib.
 */

import type { Page } from "playwright-core";
import type { DeployUiWorld } from "./ui_deploy_world.ts";

export interface ShownLine {
  seq: number;
  stream: string;
  text: string;
}

export const SCREEN_MODES = [
  { name: "light", colorScheme: "light" as const },
  { name: "dark", colorScheme: "dark" as const },
  { name: "phone", colorScheme: "light" as const, phone: true },
];

/** The log lines the page shows, in order. */
export async function pageLines(page: Page): Promise<ShownLine[]> {
  return await page.evaluate<ShownLine[]>(
    `[...document.querySelectorAll(".log .line")].map((e) => ({
    seq: Number(e.dataset.seq),
    stream: [...e.classList].filter((c) => c !== "line").join(" "),
    text: e.textContent,
  }))`,
  );
}

/** GET /api/deployments/:id/log as lines. */
export async function logLines(w: DeployUiWorld, id: string): Promise<string[]> {
  const res = await w.deploy.fetch(`/api/deployments/${id}/log`);
  const text = await res.text();
  if (!res.ok) throw new Error(`GET log: ${res.status} ${text}`);
  return text === "" ? [] : text.replace(/\n$/, "").split("\n");
}

/** The part of the log colmena printed: from its first line on, without despacito's own. */
export function colmenaPart(lines: ShownLine[], first: string): ShownLine[] {
  const i = lines.findIndex((l) => l.text === first);
  return i < 0 ? [] : lines.slice(i).filter((l) => l.stream !== "system");
}

/** Polls `cond` until it holds; fails with `what` after the deadline. */
export async function until(
  page: Page,
  cond: () => Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what} on ${page.url()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
