/**
 * OIDC sign-in against a real OpenID provider (npm oidc-provider on
 * loopback, PKCE required): the full login, two providers side by side, the
 * attacks the callback must refuse (each leaving no session), and a
 * provider that is down when despacito starts.
 */

import assert from "node:assert/strict";
import { Browser, startProvider, type TestProvider } from "./_harness/oidc_provider.ts";
import { type AuthServer, json, reservePort, startAuthServer } from "./_harness/auth_server.ts";
import { waitFor } from "./_harness/server.ts";

async function setup(count = 1, env: Record<string, string> = {}) {
  const r = reservePort();
  const providers: TestProvider[] = [];
  for (let i = 0; i < count; i++) {
    providers.push(await startProvider({ redirectUris: [r.callback], clientId: `despacito-${i}` }));
  }
  const s = await startAuthServer({
    port: r.port,
    env: {
      DESPACITO_OIDC_ISSUER_URLS: providers.map((p) => p.issuer).join(","),
      DESPACITO_OIDC_CLIENT_IDS: providers.map((p) => `${p.issuer}=${p.clientId}`).join(","),
      DESPACITO_OIDC_CLIENT_SECRETS: providers.map((p) => `${p.issuer}=${p.clientSecret}`).join(
        "\n",
      ),
      DESPACITO_OIDC_ALLOW_HTTP: "true",
      ...env,
    },
  });
  return {
    s,
    providers,
    close: async () => {
      await s.close();
      for (const p of providers) await p.close();
    },
  };
}

/** Follows a login from /auth/login up to (not into) the callback; returns the callback URL. */
async function toCallback(
  b: Browser,
  s: AuthServer,
  issuer: string,
  rewrite?: (u: URL) => URL,
): Promise<URL> {
  const start = `${s.base}/auth/login?issuer=${encodeURIComponent(issuer)}&return_to=/deployments`;
  const { url } = await b.follow(start, {
    stopAt: (u) => u.origin === s.base && u.pathname === "/auth/callback",
    rewrite,
  });
  assert.equal(url.pathname, "/auth/callback", `login did not reach the callback: ${url}`);
  return url;
}

async function me(b: Browser, s: AuthServer) {
  const res = await b.request(`${s.base}/api/me`);
  return { status: res.status, body: await json(res) };
}

/** The callback failed as expected and this browser has no session. */
async function assertRefused(
  b: Browser,
  s: AuthServer,
  res: Response,
  status: number,
  code: string,
) {
  const body = await json(res);
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal((body.error as { code: string }).code, code);
  assert.ok(!res.headers.getSetCookie().some((c) => /^despacito_session=[^;]/.test(c)));
  assert.equal((await me(b, s)).status, 401);
  const [{ count }] = await s.sql<{ count: number }[]>`select count(*)::int from sessions`;
  assert.equal(count, 0);
}

Deno.test("OIDC login: redirect, callback, session, /api/me, return_to", async () => {
  const { s, providers: [p], close } = await setup(1);
  try {
    p.setUser({
      sub: "alice-sub",
      email: "alice@example.test",
      name: "Alice",
      preferred_username: "alice",
    });
    const providersRes = await json(await fetch(`${s.base}/api/oidc/providers`));
    assert.deepEqual(providersRes, {
      providers: [{ issuer: p.issuer, name: new URL(p.issuer).host }],
    });

    const b = new Browser();
    const cb = await toCallback(b, s, p.issuer, (u) => {
      if (u.origin === p.issuer && u.pathname === "/auth") {
        assert.equal(u.searchParams.get("code_challenge_method"), "S256");
        assert.ok(u.searchParams.get("code_challenge"));
        assert.ok(u.searchParams.get("state"));
        assert.ok(u.searchParams.get("nonce"));
        assert.equal(u.searchParams.get("redirect_uri"), `${s.base}/auth/callback`);
      }
      return u;
    });
    assert.equal(cb.searchParams.get("iss"), p.issuer);
    const res = await b.request(cb);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get("location"), "/deployments");
    await res.body?.cancel();
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("despacito_session="))!;
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    assert.match(cookie, /Path=\//);

    const who = await me(b, s);
    assert.equal(who.status, 200);
    assert.equal(who.body.kind, "session");
    const user = who.body.user as Record<string, unknown>;
    assert.equal(user.issuer, p.issuer);
    assert.equal(user.email, "alice@example.test");
    assert.equal(user.username, "alice");
    assert.equal(user.display_name, "Alice");

    // The session works for the management API, including creating a token.
    const created = await b.request(`${s.base}/api/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json", "sec-fetch-site": "same-origin" },
      body: JSON.stringify({ description: "from the UI" }),
    });
    assert.equal(created.status, 201);
    await created.body?.cancel();

    // Info lines are written in batches (a few ms): wait for it rather than race it.
    const ok = await waitFor("the login log line", () => {
      const lines = s.logged("login succeeded");
      return lines.length ? lines : undefined;
    });
    assert.equal(ok.length, 1);
    assert.equal(ok[0].issuer, p.issuer);
    assert.equal(ok[0].client_address, "127.0.0.1");
    assert.ok(!s.logs.some((l) => l.includes(cookie.split(";")[0].split("=")[1])));
  } finally {
    await close();
  }
});

Deno.test("OIDC login: two providers side by side stay separate users", async () => {
  const { s, providers: [a, bp], close } = await setup(2, {});
  try {
    const methods = await json(await fetch(`${s.base}/api/auth/methods`));
    assert.equal((methods.providers as unknown[]).length, 2);
    assert.equal(methods.local, true);
    // Same subject and same email at both: still two people (keyed by issuer + subject).
    for (const p of [a, bp]) p.setUser({ sub: "same", email: "same@example.test" });
    const ids: string[] = [];
    for (const p of [a, bp]) {
      const b = new Browser();
      const res = await b.request(await toCallback(b, s, p.issuer));
      assert.equal(res.status, 302);
      await res.body?.cancel();
      const who = await me(b, s);
      const user = who.body.user as Record<string, string>;
      assert.equal(user.issuer, p.issuer);
      ids.push(user.id);
    }
    assert.notEqual(ids[0], ids[1]);
  } finally {
    await close();
  }
});

Deno.test(
  "OIDC callback: a tampered state is refused and the transaction is spent",
  async () => {
    const { s, providers: [p], close } = await setup(1);
    try {
      const b = new Browser();
      const cb = await toCallback(b, s, p.issuer);
      const tampered = new URL(cb);
      tampered.searchParams.set("state", "attacker-state");
      const binding = b.cookies(s.base).get("despacito_oidc")!;
      await assertRefused(b, s, await b.request(tampered), 400, "state_mismatch");
      // The genuine answer cannot be used afterwards either (single use), even with the old cookie.
      b.cookies(s.base).set("despacito_oidc", binding);
      await assertRefused(b, s, await b.request(cb), 400, "login_not_started");
      assert.equal(s.logged("login failed")[0].reason, "state_mismatch");
    } finally {
      await close();
    }
  },
);

Deno.test("OIDC callback: a replayed callback is refused", async () => {
  const { s, providers: [p], close } = await setup(1);
  try {
    const victim = new Browser();
    const cb = await toCallback(victim, s, p.issuer);
    const binding = victim.cookies(s.base).get("despacito_oidc")!;
    const first = await victim.request(cb);
    assert.equal(first.status, 302);
    await first.body?.cancel();
    await s.sql`delete from sessions`; // only the replay's outcome matters below
    const attacker = new Browser();
    attacker.cookies(s.base).set("despacito_oidc", binding);
    await assertRefused(attacker, s, await attacker.request(cb), 400, "login_not_started");
  } finally {
    await close();
  }
});

Deno.test("OIDC callback: an ID token with the wrong nonce is refused", async () => {
  const { s, providers: [p], close } = await setup(1);
  try {
    const b = new Browser();
    const cb = await toCallback(b, s, p.issuer, (u) => {
      if (u.origin === p.issuer && u.pathname === "/auth") u.searchParams.set("nonce", "forged");
      return u;
    });
    await assertRefused(b, s, await b.request(cb), 401, "oidc_rejected");
  } finally {
    await close();
  }
});

Deno.test("OIDC callback: an answer naming another issuer is refused", async () => {
  const { s, providers: [a, other], close } = await setup(2);
  try {
    const b = new Browser();
    const cb = await toCallback(b, s, a.issuer);
    cb.searchParams.set("iss", other.issuer);
    await assertRefused(b, s, await b.request(cb), 400, "issuer_mismatch");
  } finally {
    await close();
  }
});

Deno.test("OIDC callback: an expired transaction is refused", async () => {
  const { s, providers: [p], close } = await setup(1);
  try {
    const b = new Browser();
    const cb = await toCallback(b, s, p.issuer);
    await s.sql`update oidc_transactions set expires_at = now() - interval '1 second'`;
    await assertRefused(b, s, await b.request(cb), 400, "login_expired");
  } finally {
    await close();
  }
});

Deno.test("OIDC callback: a browser gets the sign-in page with the reason", async () => {
  const { s, providers: [p], close } = await setup(1);
  try {
    const b = new Browser();
    const cb = await toCallback(b, s, p.issuer);
    cb.searchParams.set("state", "x");
    const res = await b.request(cb, { headers: { accept: "text/html" } });
    assert.equal(res.status, 302);
    const loc = new URL(res.headers.get("location")!, s.base);
    await res.body?.cancel();
    assert.equal(loc.pathname, "/signin");
    assert.equal(loc.searchParams.get("error"), "state_mismatch");
    assert.ok(loc.searchParams.get("message"));
    assert.equal((await me(b, s)).status, 401);
  } finally {
    await close();
  }
});

Deno.test(
  "/auth/login: unknown issuer is 400; return_to must stay on this site",
  async () => {
    const { s, providers: [p], close } = await setup(1);
    try {
      const res = await fetch(`${s.base}/auth/login?issuer=https://evil.example`);
      assert.equal(res.status, 400);
      assert.equal((await json(res) as { error: { code: string } }).error.code, "unknown_issuer");
      const b = new Browser();
      const start = `${s.base}/auth/login?issuer=${
        encodeURIComponent(p.issuer)
      }&return_to=//evil.example/x`;
      const { url } = await b.follow(start, {
        stopAt: (u) => u.origin === s.base && u.pathname === "/auth/callback",
      });
      const done = await b.request(url);
      assert.equal(done.headers.get("location"), "/");
      await done.body?.cancel();
    } finally {
      await close();
    }
  },
);

Deno.test(
  "OIDC: a provider down at start neither stops despacito nor the others",
  async () => {
    const r = reservePort();
    const up = await startProvider({ redirectUris: [r.callback] });
    const downPort = (await import("./_harness/oidc_provider.ts")).freePort();
    const downIssuer = `http://127.0.0.1:${downPort}`;
    const s = await startAuthServer({
      port: r.port,
      env: {
        DESPACITO_OIDC_ISSUER_URLS: `${downIssuer},${up.issuer}`,
        DESPACITO_OIDC_CLIENT_ID: up.clientId,
        DESPACITO_OIDC_CLIENT_SECRET: up.clientSecret,
        DESPACITO_OIDC_PROVIDER_NAMES: `${downIssuer}=Later`,
        DESPACITO_OIDC_ALLOW_HTTP: "true",
      },
    });
    let late: TestProvider | undefined;
    try {
      const methods = await json(await fetch(`${s.base}/api/auth/methods`));
      assert.deepEqual((methods.providers as { name: string }[]).map((x) => x.name), [
        "Later",
        new URL(up.issuer).host,
      ]);
      const b = new Browser();
      const ok = await b.request(await toCallback(b, s, up.issuer));
      assert.equal(ok.status, 302);
      await ok.body?.cancel();

      const down = await fetch(`${s.base}/auth/login?issuer=${encodeURIComponent(downIssuer)}`);
      assert.equal(down.status, 503);
      assert.equal(
        (await json(down) as { error: { code: string } }).error.code,
        "provider_unavailable",
      );
      // A browser goes back to the sign-in page, told why, how long to wait, and where it was going.
      const page = await fetch(
        `${s.base}/auth/login?issuer=${encodeURIComponent(downIssuer)}&return_to=%2Ftokens`,
        { headers: { accept: "text/html" }, redirect: "manual" },
      );
      assert.equal(page.status, 302);
      const back = new URL(page.headers.get("location")!, s.base);
      await page.body?.cancel();
      assert.equal(back.pathname, "/signin");
      assert.equal(back.searchParams.get("error"), "provider_unavailable");
      assert.match(back.searchParams.get("message")!, /Later cannot be reached/);
      assert.equal(back.searchParams.get("retry_after"), "30");
      assert.equal(back.searchParams.get("return_to"), "/tokens");

      // It comes up: the next sign-in discovers it at once, without waiting for the backoff.
      late = await startProvider({
        redirectUris: [r.callback],
        port: downPort,
        clientId: up.clientId,
        clientSecret: up.clientSecret,
      });
      const b2 = new Browser();
      const res = await b2.request(await toCallback(b2, s, downIssuer));
      assert.equal(res.status, 302);
      await res.body?.cancel();
      assert.equal(((await me(b2, s)).body.user as { issuer: string }).issuer, downIssuer);
      assert.ok(s.logged("provider discovery failed; retrying").length >= 1);
    } finally {
      await s.close();
      await up.close();
      await late?.close();
    }
  },
);
