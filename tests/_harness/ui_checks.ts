/**
 * Page audits for the browser tests: axe-core's accessibility rules, a
 * Content-Security-Policy probe, the accessible names of Copy buttons and
 * horizontal overflow. Browser-side code is passed as strings: the tests are
 * type-checked without the DOM lib.
 *
 * axe runs with the app's CSP on. Its source goes in through page.evaluate,
 * i.e. the DevTools protocol's Runtime.evaluate, which is the debugger
 * speaking and not the page loading a script: no `<script>` element, no
 * script-src check, no Trusted Types sink. So the probe that listens for
 * `securitypolicyviolation` watches the very page axe audits, and any
 * violation axe itself caused would fail the test too (it causes none).
 * `bypassCSP` is not used anywhere: it would switch the CSP off for the page.
 */

import axe from "axe-core";
import type { Page, Response } from "playwright-core";

/** One axe violation, enough to find and fix it. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** Runs axe-core on the page as it is now; the rules are axe's defaults plus WCAG 2.2 AA. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate("typeof window.axe === 'object'"))) await page.evaluate(axe.source);
  return await page.evaluate<AxeViolation[]>(`
    axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
      resultTypes: ["violations"],
    }).then((r) => r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.join(" ") + " — " + n.failureSummary),
    })))
  `);
}

/**
 * Collects, for every page of the context, CSP violations as the page's
 * `securitypolicyviolation` events (read with `cspViolations`) and console
 * errors naming the policy or Trusted Types (into `consoleErrors`).
 */
export async function watchCsp(page: Page, consoleErrors: string[]): Promise<void> {
  await page.addInitScript(`
    window.__csp = [];
    addEventListener("securitypolicyviolation", (e) =>
      window.__csp.push(e.effectiveDirective + " " + (e.blockedURI || "inline") + " " + e.sample));
  `);
  page.on("console", (m) => {
    if (m.type() === "error" && /Content.Security.Policy|Trusted Type/i.test(m.text())) {
      consoleErrors.push(m.text());
    }
  });
}

/** The `securitypolicyviolation` events the current document saw. */
export async function cspViolations(page: Page): Promise<string[]> {
  return await page.evaluate<string[]>("window.__csp ?? ['the CSP probe did not load']");
}

/**
 * What in the served HTML and in the rendered DOM the CSP would have to
 * allow inline: script without src, `<style>`, `style=` attributes, inline
 * event handlers. Must be empty.
 */
export async function inlineCode(page: Page, response: Response | null): Promise<string[]> {
  const found: string[] = [];
  if (response) {
    const html = await response.text();
    if (/<script(?![^>]*\bsrc=)[^>]*>/i.test(html)) found.push("served HTML: inline <script>");
    if (/<style[\s>]/i.test(html)) found.push("served HTML: <style>");
    if (/\sstyle=/i.test(html)) found.push("served HTML: style attribute");
    if (/\son[a-z]+=/i.test(html)) found.push("served HTML: inline event handler");
    if (!response.headers()["content-security-policy"]) found.push("no CSP header");
  }
  found.push(
    ...await page.evaluate<string[]>(`[
      ...[...document.querySelectorAll("script:not([src])")].map(() => "DOM: inline <script>"),
      ...[...document.querySelectorAll("style")].map(() => "DOM: <style>"),
      ...[...document.querySelectorAll("[style]")].map((e) => "DOM: style attribute on " + e.tagName),
      ...[...document.querySelectorAll("*")].flatMap((e) =>
        [...e.attributes].filter((a) => a.name.startsWith("on")).map((a) => "DOM: " + a.name)),
    ]`),
  );
  return found;
}

/** The accessible names of the page's buttons (from its accessibility tree). */
export async function buttonNames(page: Page): Promise<string[]> {
  const snapshot = await page.locator("body").ariaSnapshot();
  return [...snapshot.matchAll(/- button "([^"]*)"/g)].map((m) => m[1]);
}

/**
 * Elements wider than their box: the document itself, and every card,
 * fact list and table wrapper (a table may scroll on a phone, never at
 * desktop width: pass `tablesToo`).
 */
export async function overflowing(page: Page, tablesToo: boolean): Promise<string[]> {
  return await page.evaluate<string[]>(`(() => {
    const out = [];
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth) out.push("document " + root.scrollWidth + " > " + root.clientWidth);
    const sel = ".card, dl.facts, dl.facts dd, dialog" + (${tablesToo} ? ", .table-wrap" : "");
    for (const e of document.querySelectorAll(sel)) {
      if (e.scrollWidth > e.clientWidth + 1) {
        out.push(e.tagName.toLowerCase() + "." + [...e.classList].join(".") + " " + e.scrollWidth +
          " > " + e.clientWidth + ": " + e.textContent.slice(0, 60));
      }
    }
    return out;
  })()`);
}
