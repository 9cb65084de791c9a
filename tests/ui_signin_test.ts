/**
 * The sign-in screen in real Chromium against a real despacito (child
 * process under its production permission flags, real PostgreSQL): a local
 * account made with the real CLI, rate limiting, and OIDC through a real
 * oidc-provider (auto-login interaction) next to one that is down.
 * Screenshots of the screen, light/dark/phone, with and without an error,
 * go to test-output/screenshots.
 */

import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { screenshot } from "./_harness/chromium.ts";
import { freePort, startProvider } from "./_harness/oidc_provider.ts";
import { addLocalUser, newPage, submitLocalSignIn, withUiWorld } from "./_harness/ui_world.ts";

const PASSWORD = "correct horse battery";

/** Waits until the page is at `path` with exactly `query`. */
async function at(page: Page, path: string, query: Record<string, string> = {}) {
  await page.waitForURL((u) =>
    u.pathname === path &&
    JSON.stringify([...u.searchParams].sort()) === JSON.stringify(Object.entries(query).sort())
  );
}

async function me(base: string, cookie?: string): Promise<number> {
  const res = await fetch(`${base}/api/me`, { headers: cookie ? { cookie } : {} });
  await res.body?.cancel();
  return res.status;
}

Deno.test("sign-in screen: a local account signs in, comes back where it was going, signs out", async () => {
  await withUiWorld({}, async (w) => {
    await addLocalUser(w, "alice", PASSWORD);
    const { context, page } = await newPage(w);

    await page.goto("/deployments?status=failed");
    await at(page, "/signin", { return_to: "/deployments?status=failed" });
    await submitLocalSignIn(page, "alice", "not the password");
    await page.getByRole("alert").getByText("Wrong username or password.").waitFor();
    await page.locator("input[name=password]:focus").waitFor(); // ready for the next try
    assert.equal(await page.getByLabel("Password").inputValue(), "", "password field cleared");
    assert.equal(await page.getByLabel("Username").inputValue(), "alice", "username kept");
    await screenshot(page, "signin-local-wrong-password");

    await submitLocalSignIn(page, "alice", PASSWORD);
    await at(page, "/deployments", { status: "failed" });
    await page.locator("header .user", { hasText: "alice" }).waitFor();
    await page.getByRole("heading", { name: "History" }).waitFor();
    const session = (await context.cookies()).find((c) => c.name === "despacito_session");
    assert.ok(session?.httpOnly, "an HttpOnly session cookie");
    assert.equal(session.sameSite, "Lax");
    const who = await (await page.request.get("/api/me")).json();
    assert.equal(who.kind, "session");
    assert.equal(who.user.username, "alice");

    await page.getByRole("button", { name: "Sign out" }).click();
    await at(page, "/signin");
    await page.getByRole("heading", { name: "Sign in to despacito" }).waitFor();
    assert.equal((await context.cookies()).find((c) => c.name === "despacito_session"), undefined);
    // The session is gone on the server, not only from this browser.
    assert.equal(await me(w.server.baseUrl, `despacito_session=${session.value}`), 401);
    assert.equal((await page.request.get("/api/me")).status(), 401);

    await page.goto("/tokens");
    await at(page, "/signin", { return_to: "/tokens" });
    await context.close();
  });
});

Deno.test("sign-in screen: rate limited, it says how long to wait and keeps the button disabled", async () => {
  await withUiWorld({
    env: { DESPACITO_AUTH_RATE_LIMIT: "2", DESPACITO_AUTH_RATE_WINDOW: "10m" },
  }, async (w) => {
    await addLocalUser(w, "alice", PASSWORD);
    const { context, page } = await newPage(w);
    await page.goto("/signin");
    for (let i = 0; i < 2; i++) {
      await submitLocalSignIn(page, "alice", `wrong ${i}`);
      await page.getByRole("alert").getByText("Wrong username or password.").waitFor();
      await page.getByRole("button", { name: "Sign in", exact: true }).and(
        page.locator(":enabled"),
      ).waitFor();
    }
    await submitLocalSignIn(page, "alice", PASSWORD);
    // Two attempts per 10 minutes: the next one is 5 minutes away. Said once, in the alert…
    await page.getByRole("alert").filter({
      hasText: /^Too many sign-in attempts from here\. You can try again in (5 min|4 min \d+ s)\.$/,
    }).waitFor();
    // …and counted down on the disabled button.
    const waiting = page.getByRole("button", { name: /^Try again in [45] min/ });
    await waiting.waitFor();
    assert.ok(await waiting.isDisabled(), "the button stays disabled while waiting");
    const first = (await waiting.textContent())!;
    await screenshot(page, "signin-rate-limited");
    await page.getByRole("button", { name: /^Try again in/ }).filter({ hasNotText: first })
      .waitFor({ timeout: 5_000 });
    await context.close();
  });
});

Deno.test("sign-in screen: OIDC through a real provider, and a clear error when one is down", async () => {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const provider = await startProvider({ redirectUris: [`${base}/auth/callback`] });
  provider.setUser({
    sub: "olivia-1",
    name: "Olivia Operator",
    email: "olivia@example.test",
    preferred_username: "olivia",
  });
  const downIssuer = `http://127.0.0.1:${freePort()}`;
  try {
    await withUiWorld({
      port,
      env: {
        DESPACITO_BASE_URL: base,
        DESPACITO_OIDC_ISSUER_URLS: `${provider.issuer},${downIssuer}`,
        DESPACITO_OIDC_CLIENT_ID: provider.clientId,
        DESPACITO_OIDC_CLIENT_SECRET: provider.clientSecret,
        DESPACITO_OIDC_PROVIDER_NAMES: `${provider.issuer}=Forgejo,${downIssuer}=Company SSO`,
        DESPACITO_OIDC_ALLOW_HTTP: "true",
        // Low enough for the last step to reach it (the steps before start 5 OIDC sign-ins).
        DESPACITO_AUTH_RATE_LIMIT: "6",
        DESPACITO_AUTH_RATE_WINDOW: "10m",
      },
    }, async (w) => {
      for (
        const mode of [
          { name: "light", colorScheme: "light" as const },
          { name: "dark", colorScheme: "dark" as const },
          { name: "phone", colorScheme: "light" as const, phone: true },
        ]
      ) {
        const { context, page } = await newPage(w, mode);
        await page.goto("/signin?return_to=%2Ftokens");
        const buttons = page.locator(".providers button");
        await buttons.first().waitFor();
        assert.deepEqual(await buttons.allTextContents(), [
          "Sign in with Forgejo",
          "Sign in with Company SSO",
        ]);
        await page.getByLabel("Username").waitFor();
        await screenshot(page, `signin-${mode.name}`);

        await page.getByRole("button", { name: "Sign in with Company SSO" }).click();
        await page.waitForURL((u) => u.searchParams.get("error") === "provider_unavailable");
        await page.getByRole("alert").filter({
          hasText: "Sign-in failed: The sign-in provider Company SSO cannot be reached right now",
        }).waitFor();
        await page.getByLabel("Username").waitFor();
        await screenshot(page, `signin-error-${mode.name}`);
        await context.close();
      }

      // Where the operator was going survives a provider that is down; another provider works.
      const { context, page } = await newPage(w);
      await page.goto("/repositories");
      await at(page, "/signin", { return_to: "/repositories" });
      await page.getByRole("button", { name: "Sign in with Company SSO" }).click();
      await page.waitForURL((u) => u.searchParams.get("error") === "provider_unavailable");
      assert.equal(new URL(page.url()).searchParams.get("return_to"), "/repositories");
      await page.getByRole("button", { name: "Sign in with Forgejo" }).click();
      await at(page, "/repositories");
      await page.locator("header .user", { hasText: "Olivia Operator" }).waitFor();
      await page.getByRole("heading", { name: "Repositories" }).waitFor();
      const who = await (await page.request.get("/api/me")).json();
      assert.equal(who.kind, "session");
      assert.equal(who.user.issuer, provider.issuer);
      assert.equal(who.user.email, "olivia@example.test");
      await context.close();

      // Starting OIDC sign-ins too often lands on the sign-in page with the wait, not on JSON.
      const second = await newPage(w);
      await second.page.goto("/signin");
      for (let i = 0; i < 5; i++) {
        await second.page.getByRole("button", { name: "Sign in with Company SSO" }).click();
        await second.page.waitForURL((u) => u.searchParams.has("error"));
        if (new URL(second.page.url()).searchParams.get("error") === "rate_limited") break;
        await second.page.goto("/signin");
      }
      await second.page.getByRole("alert").filter({
        hasText: /Too many sign-in attempts from here\. Try again in \d+ (min|s)/,
      }).waitFor();
      await second.page.getByLabel("Username").waitFor();
      await screenshot(second.page, "signin-oidc-rate-limited");
      await second.context.close();
    });
  } finally {
    await provider.close();
  }
});
