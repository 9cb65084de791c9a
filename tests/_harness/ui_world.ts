/**
 * Shared by the browser tests: a real despacito (child process under its
 * production permission flags, real PostgreSQL) with real Chromium next to
 * it, pages that watch for requests to other origins and uncaught errors,
 * local accounts made through the real CLI, and signing in through the
 * sign-in screen as an operator does (session cookie, CSRF rules and all).
 */

import assert from "node:assert/strict";
import type { Browser, BrowserContext, BrowserContextOptions, Page } from "playwright-core";
import { bundleUi } from "../../src/build/bundle_ui.ts";
import { launchChromium, watchForeignRequests } from "./chromium.ts";
import { freshDatabase } from "./postgres.ts";
import { type RunningDespacito, spawnDespacito } from "./spawn_despacito.ts";

export interface UiWorld {
  server: RunningDespacito;
  browser: Browser;
  /** Requests any page made to another origin (there must be none). */
  foreign: string[];
  /** Uncaught errors in any page (there must be none). */
  pageErrors: string[];
}

export interface WorldOptions {
  env?: Record<string, string>;
  port?: number;
  /** A database the caller made (and drops); a fresh one otherwise. */
  databaseUri?: string;
}

/**
 * Runs `fn` against a fresh despacito + database + Chromium and checks, at
 * the end, that no page talked to another origin or threw.
 */
export async function withUiWorld(options: WorldOptions, fn: (w: UiWorld) => Promise<void>) {
  await bundleUi();
  const db = options.databaseUri
    ? { uri: options.databaseUri, drop: () => Promise.resolve() }
    : await freshDatabase();
  let server: RunningDespacito | undefined;
  let browser: Browser | undefined;
  try {
    server = await spawnDespacito({
      port: options.port,
      env: {
        DESPACITO_POSTGRES_CONNECTION_URI: db.uri,
        // Plain http on loopback: the documented setting for local http (no `__Host-`/Secure).
        DESPACITO_SESSION_COOKIE_SECURE: "false",
        ...options.env,
      },
    });
    browser = await launchChromium();
    const w: UiWorld = { server, browser, foreign: [], pageErrors: [] };
    await fn(w);
    assert.deepEqual(w.foreign, [], "no request leaves despacito's origin");
    assert.deepEqual(w.pageErrors, [], "no uncaught error in the page");
  } finally {
    await browser?.close();
    await server?.stop();
    await db.drop();
  }
}

export interface PageOptions {
  colorScheme?: "light" | "dark";
  phone?: boolean;
  /** Cookies of an earlier context (a browser that already signed in). */
  storageState?: BrowserContextOptions["storageState"];
  /** Where the page talks to despacito (e.g. through a proxy); the server itself otherwise. */
  baseUrl?: string;
}

export async function newPage(
  w: UiWorld,
  options: PageOptions = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const baseUrl = options.baseUrl ?? w.server.baseUrl;
  const context = await w.browser.newContext({
    baseURL: baseUrl,
    colorScheme: options.colorScheme ?? "light",
    viewport: options.phone ? { width: 390, height: 844 } : { width: 1280, height: 860 },
    timezoneId: "Europe/Berlin",
    storageState: options.storageState,
  });
  const page = await context.newPage();
  // Into the world's own list, as they happen: checked when the world ends.
  watchForeignRequests(page, baseUrl, w.foreign);
  page.on("pageerror", (e) => w.pageErrors.push(String(e)));
  return { context, page };
}

/** `despacito user add <name>` through the real CLI, the password piped in. */
export async function addLocalUser(w: UiWorld, username: string, password: string) {
  const r = await w.server.cli(["user", "add", username], `${password}\n`);
  assert.equal(r.code, 0, r.stderr);
}

/** Fills and submits the local sign-in form on the page's current (sign-in) screen. */
export async function submitLocalSignIn(page: Page, username: string, password: string) {
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/**
 * Signs in through the sign-in screen and returns the browser's state
 * (its session cookie) for further contexts.
 */
export async function signedInState(
  w: UiWorld,
  username: string,
  password: string,
): Promise<BrowserContextOptions["storageState"]> {
  const { context, page } = await newPage(w);
  await page.goto("/signin");
  await submitLocalSignIn(page, username, password);
  await page.waitForURL((u) => u.pathname === "/");
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  const state = await context.storageState();
  await context.close();
  return state;
}
