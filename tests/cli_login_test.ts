/**
 * `despacito login` end to end: despacito as it ships, the CLI as it ships
 * (its operator permission profile), real Chromium signing in with a local
 * account and consenting, then the stored credentials at work.
 */

import assert from "node:assert/strict";
import { launchChromium, screenshot } from "./_harness/chromium.ts";
import { freePort, startProvider } from "./_harness/oidc_provider.ts";
import { addUser, api, browserLogin, PASSWORD, stored, withCliWorld } from "./cli_support.ts";

Deno.test("despacito login: the browser signs in and consents, the CLI ends signed in", async () => {
  await withCliWorld({}, async (w) => {
    await addUser(w, "alice");
    const r = await browserLogin(w, "alice");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `Signed in to ${w.url} as alice.`);
    assert.match(r.stderr, /Open this address in a browser/);

    const info = await Deno.stat(w.credentialsFile);
    assert.equal(info.mode! & 0o777, 0o600, "credentials are private");
    const c = await stored(w);
    assert.equal(c.server, w.url);
    assert.match(c.access_token, /^dcli_at_/);
    assert.match(c.refresh_token, /^dcli_rt_/);
    assert.ok(Date.parse(c.expires_at) > Date.now() + 50 * 60_000, "an hour by default");
    // Acts as alice: a session-like principal, with no CSRF proof needed.
    const me = await (await fetch(`${w.url}/api/me`, {
      headers: { authorization: `Bearer ${c.access_token}` },
    })).json();
    assert.equal(me.kind, "session");
    assert.equal(me.user.username, "alice");
    assert.equal(await api(w, "/api/cli-sessions", c.access_token), 200);

    const who = await w.cli(["tokens", "list", "--json"]);
    assert.equal(who.code, 0, who.stderr);
    assert.deepEqual(JSON.parse(who.stdout), { tokens: [] });

    const out = await w.cli(["logout"]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(
      out.stdout,
      /^Signed out of http:\/\/127\.0\.0\.1:\d+; .*credentials\.json deleted\.$/m,
    );
    assert.equal(await api(w, "/api/me", c.access_token), 401, "logout revoked the sign-in");
    const after = await w.cli(["status"]);
    assert.equal(after.code, 3);
    assert.match(after.stderr, /not signed in/);
  });
});

Deno.test("Tokens page: lists the user's CLI sign-ins and signs one out; UI sign-out leaves them be", async () => {
  await withCliWorld({}, async (w) => {
    await addUser(w, "alice");
    const browser = await launchChromium();
    try {
      const r = await browserLogin(w, "alice", browser);
      assert.equal(r.code, 0, r.stderr);
      const { access_token: access } = await stored(w);

      const context = await browser.newContext({ baseURL: w.url });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto("/signin?return_to=/tokens");
      await page.getByLabel("Username").fill("alice");
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await page.getByRole("heading", { name: "Command-line sign-ins" }).waitFor();
      const row = page.locator("tr[data-cli-session-id]");
      await row.first().waitFor();
      assert.equal(await row.count(), 1);
      assert.match(await row.first().innerText(), /despacito command line/);
      await screenshot(page, "tokens-cli-sessions");

      // Signing out of the browser does not end the CLI's sign-in.
      await page.getByRole("button", { name: "Sign out" }).first().click();
      await page.waitForURL((u) => u.pathname === "/signin");
      assert.equal(await api(w, "/api/me", access), 200);

      await page.goto("/signin?return_to=/tokens");
      await page.getByLabel("Username").fill("alice");
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await row.first().waitFor();
      await row.first().getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Sign out" }).click();
      await page.getByText("No command-line sign-ins.").waitFor();
      assert.equal(await api(w, "/api/me", access), 401, "revoked from the Tokens page");
      const after = await w.cli(["status"]);
      assert.equal(after.code, 3, after.stderr);
      assert.deepEqual(errors, []);
      await context.close();
    } finally {
      await browser.close();
    }
  });
});

Deno.test("despacito login through an OIDC provider: /signin, the provider, back to the consent page", async () => {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const provider = await startProvider({ redirectUris: [`${base}/auth/callback`] });
  provider.setUser({
    sub: "olivia-1",
    name: "Olivia Operator",
    email: "olivia@example.test",
    preferred_username: "olivia",
  });
  try {
    await withCliWorld({
      port,
      env: {
        DESPACITO_BASE_URL: base,
        DESPACITO_OIDC_ISSUER_URLS: provider.issuer,
        DESPACITO_OIDC_CLIENT_ID: provider.clientId,
        DESPACITO_OIDC_CLIENT_SECRET: provider.clientSecret,
        DESPACITO_OIDC_PROVIDER_NAMES: `${provider.issuer}=Forgejo`,
        DESPACITO_OIDC_ALLOW_HTTP: "true",
      },
    }, async (w) => {
      const r = await browserLogin(w, "olivia", undefined, async (page) => {
        await page.getByRole("button", { name: "Sign in with Forgejo" }).click();
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), `Signed in to ${w.url} as olivia.`);
      const me = await (await fetch(`${w.url}/api/me`, {
        headers: { authorization: `Bearer ${(await stored(w)).access_token}` },
      })).json();
      assert.equal(me.user.issuer, provider.issuer);
    });
  } finally {
    await provider.close();
  }
});
