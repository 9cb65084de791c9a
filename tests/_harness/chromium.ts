/**
 * Real Chromium (Debian's /usr/bin/chromium) driven by playwright-core, and
 * the screenshot folder (test-output/screenshots, not committed).
 */

import type { Browser, Page } from "playwright-core";
import fs from "node:fs";
import { fileURLToPath } from "node:url";

export const CHROMIUM = Deno.env.get("DESPACITO_TEST_CHROMIUM") ?? "/usr/bin/chromium";

export const SCREENSHOTS = fileURLToPath(
  new URL("../../test-output/screenshots/", import.meta.url),
);

/**
 * playwright-core probes /proc/sys/fs/binfmt_misc/WSLInterop with existsSync when it loads,
 * and Deno refuses that path to anything short of --allow-all (which `deno task test` does not
 * grant). The probe only asks "is this WSL?": answer "no" instead of throwing, then load it.
 */
async function loadPlaywright(): Promise<typeof import("playwright-core")> {
  const existsSync = fs.existsSync;
  fs.existsSync = (path) => {
    try {
      return existsSync(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable) return false;
      throw e;
    }
  };
  try {
    return await import("playwright-core");
  } finally {
    fs.existsSync = existsSync;
  }
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await loadPlaywright();
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** Saves `<name>.png` under test-output/screenshots/. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await Deno.mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}

/**
 * Collects, into `foreign`, requests the page makes to anything but `origin`
 * (there must be none). Top-level navigations are the user going somewhere
 * (an OIDC provider's sign-in), not the page loading something: not counted.
 */
export function watchForeignRequests(page: Page, origin: string, foreign: string[] = []): string[] {
  page.on("request", (r) => {
    if (r.isNavigationRequest() && r.frame() === page.mainFrame()) return;
    const url = r.url();
    if (!url.startsWith(origin) && !url.startsWith("data:")) foreign.push(url);
  });
  return foreign;
}
