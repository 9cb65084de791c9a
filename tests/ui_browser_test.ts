/**
 * The web UI in real Chromium against a real despacito (child process under
 * its production permission flags, real PostgreSQL), used as an operator
 * uses it: signed in through the sign-in screen with a local account made by
 * the real CLI, so every API call rides the session cookie and every write
 * passes the CSRF rules. Sign-in itself: tests/ui_signin_test.ts; every screen
 * in light, dark and phone (axe, CSP probe, screenshots): tests/ui_a11y_test.ts.
 */

import assert from "node:assert/strict";
import { screenshot } from "./_harness/chromium.ts";
import { addLocalUser, newPage, signedInState, withUiWorld } from "./_harness/ui_world.ts";

const USER = "alice";
const PASSWORD = "correct horse battery";

Deno.test("web UI in Chromium, signed in with a session: tokens, CSP, 401 → sign-in", async (t) => {
  await withUiWorld({}, async (w) => {
    await addLocalUser(w, USER, PASSWORD);
    const signedIn = { storageState: await signedInState(w, USER, PASSWORD) };
    await t.step(
      "Tokens screen shows a new token once, copies it, and revokes it after confirmation",
      async () => {
        const { context, page } = await newPage(w, signedIn);
        await context.grantPermissions(["clipboard-read", "clipboard-write"]);
        await page.goto("/tokens");
        await page.locator("header .user", { hasText: USER }).waitFor();
        await page.getByLabel("Description").fill("ci-runner-1");
        await page.getByLabel("Expires").selectOption({ label: "30 days" });
        await page.getByRole("button", { name: "Create token" }).click();

        const dialog = page.getByRole("dialog", { name: "Your new token" });
        await dialog.waitFor();
        const token = (await dialog.locator(".token-value").textContent())!.trim();
        assert.match(token, /^[0-9a-f]{64}$/);
        assert.match(await dialog.getByRole("alert").textContent() ?? "", /only time/);
        await dialog.getByRole("button", { name: "Copy token" }).click();
        await dialog.getByRole("button", { name: /Copied/ }).waitFor();
        assert.equal(await page.evaluate("navigator.clipboard.readText()"), token);
        await screenshot(page, "tokens-created-dialog");

        const me = await fetch(`${w.server.baseUrl}/api/me`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        assert.equal((await me.json()).token.description, "ci-runner-1");

        await dialog.getByRole("button", { name: /close/ }).click();
        await dialog.waitFor({ state: "detached" });
        assert.ok(!(await page.content()).includes(token), "token gone from the page");
        const row = page.locator("tr", { hasText: "ci-runner-1" });
        await row.waitFor();
        await screenshot(page, "tokens-after-create");

        await row.getByRole("button", { name: "Revoke" }).click();
        const confirm = page.getByRole("dialog", { name: "Revoke this token?" });
        await confirm.getByText("ci-runner-1").waitFor();
        await confirm.getByRole("button", { name: "Revoke token" }).click();
        await row.waitFor({ state: "detached" });
        const after = await fetch(`${w.server.baseUrl}/api/me`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        assert.equal(after.status, 401);
        await after.body?.cancel();
        await page.getByLabel("show revoked tokens").check();
        await page.locator("tr", { hasText: "ci-runner-1" }).getByText("revoked").waitFor();
        await context.close();
      },
    );

    await t.step(
      "the CSP blocks an inline script, parser- or DOM-inserted, and the app still runs",
      async () => {
        const { context, page } = await newPage(w, signedIn);
        // Browser-side code is passed as strings: this file is type-checked without the DOM lib.
        await page.addInitScript(`
        window.__violations = [];
        addEventListener("securitypolicyviolation", (e) => __violations.push(e.effectiveDirective));
      `);
        // The real server's response (headers included), with an inline script slipped in.
        await page.route("**/csp-probe", async (route) => {
          const response = await route.fetch();
          const body = (await response.text()).replace(
            "</head>",
            "<script>window.__pwned = 'parser';</script></head>",
          );
          await route.fulfill({ response, body });
        });
        const res = await page.goto("/csp-probe");
        assert.match(res!.headers()["content-security-policy"], /script-src 'self'/);
        await page.locator("header .user", { hasText: USER }).waitFor(); // our own bundle ran
        const dom = await page.evaluate(`(() => {
        const s = document.createElement("script");
        try {
          s.textContent = "window.__pwned = 'dom';";
        } catch { /* Trusted Types refuse the string */ }
        document.head.append(s);
        return window.__pwned ?? null;
      })()`);
        assert.equal(dom, null);
        const violations = await page.evaluate<string[]>("window.__violations");
        assert.ok(violations.includes("script-src-elem"), violations.join(","));
        assert.equal(await page.evaluate("window.__pwned ?? null"), null);
        await context.close();
      },
    );

    await t.step(
      "a 401 from the API sends the browser to sign-in, remembering where it was",
      async () => {
        const { context, page } = await newPage(w);
        await page.goto("/deployments?package=web");
        await page.waitForURL("**/signin?return_to=%2Fdeployments%3Fpackage%3Dweb");
        await page.getByRole("heading", { name: "Sign in to despacito" }).waitFor();
        await context.close();
      },
    );
  });
});
