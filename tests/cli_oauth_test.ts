/**
 * The CLI's OAuth server against despacito as it ships: refresh rotation,
 * replay revoking the family, revocation, silent refresh of an expired
 * access token by the real CLI, PKCE and redirect URI checks, and a
 * disabled user's or changed password's tokens dying.
 */

import assert from "node:assert/strict";
import { hashPassword } from "../src/auth/passwords.ts";
import { setLocalPassword } from "../src/auth/users.ts";
import { runCli } from "./_harness/server.ts";
import {
  addUser,
  api,
  authorizeParams,
  CLIENT,
  consent,
  httpLogin,
  newFlow,
  postForm,
  refreshWith,
  stored,
  storeForCli,
  withCliWorld,
} from "./cli_support.ts";

Deno.test("/oauth/token: refresh tokens rotate; a replay revokes the family, the holder's next refresh too", async () => {
  await withCliWorld({}, async (w) => {
    await addUser(w, "alice");
    const first = await httpLogin(w, "alice");
    assert.equal(first.expires_in, 3600);

    const second = await refreshWith(w, first.refresh_token);
    assert.equal(second.status, 200);
    const t2 = second.body as Record<string, string>;
    assert.notEqual(t2.refresh_token, first.refresh_token, "a new refresh token each time");
    assert.notEqual(t2.access_token, first.access_token);
    assert.equal(await api(w, "/api/me", t2.access_token), 200);
    assert.equal(await api(w, "/api/me", first.access_token), 200, "old access lives its hour");

    // The old refresh token again: theft. Refused, and the whole family is gone.
    const replay = await refreshWith(w, first.refresh_token);
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, "invalid_grant");
    assert.match(String(replay.body.error_description), /already used/);
    assert.equal(await api(w, "/api/me", t2.access_token), 401);
    assert.equal(await api(w, "/api/me", first.access_token), 401);
    const holder = await refreshWith(w, t2.refresh_token);
    assert.equal(holder.status, 400, "the legitimate holder must sign in again too");
    assert.equal(holder.body.error, "invalid_grant");
    const [grant] = await w.sql<{ revokedReason: string }[]>`
      select revoked_reason from oauth_grants`;
    assert.equal(grant.revokedReason, "refresh_token_replayed");
    const audit = await w.sql<{ action: string; target: string }[]>`
      select action, target from audit_log where action like 'auth.cli_%' order by id`;
    assert.deepEqual(audit.map((a) => a.action), ["auth.cli_sign_in", "auth.cli_token_replayed"]);
    assert.match(audit[1].target, /^cli_session:[0-9a-f-]{36}$/);
    assert.ok(
      w.server.logs().some((l) => l.msg === "CLI token request refused" && l.reason === "replayed"),
    );

    // The real CLI with the dead sign-in: exit 3 and what to do.
    await storeForCli(w, { ...first, ...t2, expires_in: 3600 }, new Date(Date.now() - 1000));
    const r = await w.cli(["status"]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /sign-in to http:\/\/127\.0\.0\.1:\d+ has ended .*despacito login/);
  });
});

Deno.test("despacito CLI: an expired access token is refreshed silently and the new pair stored", async () => {
  await withCliWorld({ env: { DESPACITO_CLI_ACCESS_TOKEN_TTL: "2s" } }, async (w) => {
    await addUser(w, "alice");
    const t = await httpLogin(w, "alice");
    await storeForCli(w, t);
    // Expired for real on the server (poll, no sleep as synchronisation).
    const deadline = Date.now() + 10_000;
    while (await api(w, "/api/me", t.access_token) === 200) {
      assert.ok(Date.now() < deadline, "the access token never expired");
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = await w.cli(["deployments", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).deployments, []);
    const after = await stored(w);
    assert.notEqual(after.access_token, t.access_token);
    assert.notEqual(after.refresh_token, t.refresh_token);
    assert.equal((await Deno.stat(w.credentialsFile)).mode! & 0o777, 0o600);

    // The server refuses an access token the file still believes in (clock skew): refreshed on 401.
    await storeForCli(
      w,
      { ...after, expires_in: 2 },
      new Date(Date.now() + 3_600_000),
    );
    const stale = after.access_token;
    while (await api(w, "/api/me", stale) === 200) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const again = await w.cli(["status", "--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.notEqual((await stored(w)).access_token, stale);

    // Three commands at once with an expired access token: one refresh, shared through the lock —
    // never the same refresh token spent twice (the server would take that for theft).
    const before = await stored(w);
    while (await api(w, "/api/me", before.access_token) === 200) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const all = await Promise.all([1, 2, 3].map(() => w.cli(["deployments", "--json"])));
    for (const r of all) assert.equal(r.code, 0, r.stderr);
    const [grant] = await w.sql<{ revokedAt: Date | null }[]>`select revoked_at from oauth_grants`;
    assert.equal(grant.revokedAt, null, "no replay among the parallel refreshes");
  });
});

Deno.test("/oauth/revoke: revokes the sign-in by access or refresh token; unknown tokens are 200", async () => {
  await withCliWorld({}, async (w) => {
    await addUser(w, "alice");
    const a = await httpLogin(w, "alice");
    const b = await httpLogin(w, "alice");
    const rev = (token: string, client = CLIENT) =>
      postForm(`${w.url}/oauth/revoke`, { token, client_id: client });
    assert.equal((await rev(a.access_token, "someone-else")).status, 401, "unknown client");
    assert.equal(await api(w, "/api/me", a.access_token), 200);
    assert.equal((await rev(a.access_token)).status, 200);
    assert.equal(await api(w, "/api/me", a.access_token), 401);
    assert.equal((await refreshWith(w, a.refresh_token)).body.error, "invalid_grant");
    assert.equal((await rev(b.refresh_token)).status, 200);
    assert.equal(await api(w, "/api/me", b.access_token), 401, "the whole sign-in ends");
    assert.equal((await rev("dcli_rt_" + "x".repeat(43))).status, 200);
    assert.equal((await rev("nonsense")).status, 200);
    const bad = await fetch(`${w.url}/oauth/revoke`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error, "invalid_request");
  });
});

Deno.test("/oauth/token: a wrong PKCE verifier is refused, and the code is spent; a code replay revokes", async () => {
  await withCliWorld({}, async (w) => {
    await addUser(w, "alice");
    const f = await newFlow(w, "alice");
    const code = await consent(w, f);
    const exchange = (c: string, verifier: string, redirectUri = f.redirectUri) =>
      postForm(`${w.url}/oauth/token`, {
        grant_type: "authorization_code",
        code: c,
        redirect_uri: redirectUri,
        code_verifier: verifier,
        client_id: CLIENT,
      });
    const wrong = await exchange(code, "w".repeat(43));
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, "invalid_grant");
    assert.match(String(wrong.body.error_description), /code_verifier/);
    assert.equal((await exchange(code, f.verifier)).status, 400, "single use, even after failing");

    const other = await consent(w, f);
    assert.equal(
      (await exchange(other, f.verifier, "http://127.0.0.1:49998/callback")).body.error,
      "invalid_grant",
      "redirect_uri must match",
    );
    const good = await consent(w, f);
    const ok = await exchange(good, f.verifier);
    assert.equal(ok.status, 200);
    const again = await exchange(good, f.verifier);
    assert.equal(again.body.error, "invalid_grant");
    assert.equal(
      await api(w, "/api/me", String(ok.body.access_token)),
      401,
      "a replayed code revokes what it obtained",
    );
  });
});

Deno.test("/oauth/authorize: only loopback redirect URIs, PKCE S256 required, sign-in first", async () => {
  await withCliWorld({}, async (w) => {
    await addUser(w, "alice");
    const f = await newFlow(w, "alice");
    const get = (params: URLSearchParams, cookie = f.cookie) =>
      fetch(`${w.url}/oauth/authorize?${params}`, {
        redirect: "manual",
        headers: cookie ? { cookie } : {},
      });
    for (
      const uri of [
        "https://evil.example/callback",
        "http://localhost:8000/callback",
        "http://127.0.0.1/callback",
        "http://10.0.0.1:8000/callback",
        "http://127.0.0.1.evil.example:80/cb",
      ]
    ) {
      const res = await get(authorizeParams(f, { redirect_uri: uri }));
      assert.equal(res.status, 400, uri);
      assert.equal(res.headers.get("location"), null, `${uri}: never redirected to`);
      assert.match(await res.text(), /This sign-in request was refused/);
    }
    const unknown = await get(authorizeParams(f, { client_id: "other" }));
    assert.equal(unknown.status, 400);
    await unknown.body?.cancel();

    const plain = await get(authorizeParams(f, { code_challenge_method: "plain" }));
    assert.equal(plain.status, 303);
    const back = new URL(plain.headers.get("location")!);
    await plain.body?.cancel();
    assert.equal(back.searchParams.get("error"), "invalid_request");
    assert.equal(back.searchParams.get("state"), "s-123");

    const ipv6 = await get(authorizeParams(f, { redirect_uri: "http://[::1]:5000/cb" }));
    assert.equal(ipv6.status, 200);
    assert.match(
      ipv6.headers.get("content-security-policy")!,
      /form-action 'self' http:\/\/\[::1\]:5000/,
    );
    assert.match(await ipv6.text(), /\[::1\]:5000/);

    const anonymous = await get(authorizeParams(f), "");
    assert.equal(anonymous.status, 302);
    const signin = new URL(anonymous.headers.get("location")!, w.url);
    await anonymous.body?.cancel();
    assert.equal(signin.pathname, "/signin");
    assert.match(signin.searchParams.get("return_to")!, /^\/oauth\/authorize\?/);

    // Consent without a same-origin proof: a cross-site page cannot approve in the user's name.
    const forged = await fetch(`${w.url}/oauth/authorize`, {
      method: "POST",
      redirect: "manual",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie: f.cookie,
        "sec-fetch-site": "cross-site",
      },
      body: authorizeParams(f, { decision: "allow" }),
    });
    assert.equal(forged.status, 403);
    await forged.body?.cancel();

    // Deny: back to the CLI with access_denied and the state, no code.
    const denied = await fetch(`${w.url}/oauth/authorize`, {
      method: "POST",
      redirect: "manual",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie: f.cookie,
        origin: w.url,
      },
      body: authorizeParams(f, { decision: "deny" }),
    });
    assert.equal(denied.status, 303);
    const no = new URL(denied.headers.get("location")!);
    await denied.body?.cancel();
    assert.equal(no.searchParams.get("error"), "access_denied");
    assert.equal(no.searchParams.get("state"), "s-123");
    assert.equal(no.searchParams.get("code"), null);
  });
});

Deno.test("CLI tokens die with their user: disabled (despacito user disable) or password changed", async () => {
  await withCliWorld({}, async (w) => {
    const bob = await addUser(w, "bob");
    await addUser(w, "carol");
    const t = await httpLogin(w, "bob");
    const r = await runCli(["user", "disable", "bob"], w.serverEnv);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await api(w, "/api/me", t.access_token), 401);
    assert.equal((await refreshWith(w, t.refresh_token)).body.error, "invalid_grant");
    const [g] = await w.sql<{ revokedReason: string }[]>`
      select revoked_reason from oauth_grants where user_id = ${bob.id}`;
    assert.equal(g.revokedReason, "user_disabled");

    const c = await httpLogin(w, "carol");
    await setLocalPassword(w.sql, "carol", await hashPassword("another long password"));
    assert.equal(await api(w, "/api/me", c.access_token), 401);
    assert.equal((await refreshWith(w, c.refresh_token)).body.error, "invalid_grant");
  });
});

Deno.test("/oauth/token is rate limited per client address like sign-in", async () => {
  await withCliWorld({ env: { DESPACITO_AUTH_RATE_LIMIT: "3" } }, async (w) => {
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await refreshWith(w, "dcli_rt_" + "y".repeat(43))).status);
    }
    assert.deepEqual(statuses, [400, 400, 400, 429]);
  });
});

Deno.test("OAuth routes: hostile input gets 4xx, never 5xx", async () => {
  await withCliWorld({}, async (w) => {
    await addUser(w, "alice");
    const f = await newFlow(w, "alice");
    const statuses: number[] = [];
    const send = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(`${w.url}${path}`, { redirect: "manual", ...init });
      await res.body?.cancel();
      statuses.push(res.status);
    };
    const form = (body: string, cookie = "") => ({
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: w.url,
        ...(cookie ? { cookie } : {}),
      },
      body,
    });
    for (
      const q of [
        "client_id=%00",
        "client_id=despacito-cli&redirect_uri=http://127.0.0.1:1/%00",
        `${authorizeParams(f)}&state=%00`,
        "client_id=" + "x".repeat(5000),
        "client_id=despacito-cli&redirect_uri=http://[::1:1/",
        "client_id=despacito-cli&redirect_uri=javascript:alert(1)",
        "client_id='%20or%201=1--",
      ]
    ) {
      await send(`/oauth/authorize?${q}`, { headers: { cookie: f.cookie } });
    }
    for (
      const body of [
        "grant_type=authorization_code&client_id=despacito-cli&code=%00&redirect_uri=x&code_verifier=y",
        "grant_type=refresh_token&client_id=%C3%A9&refresh_token=dcli_rt_x",
        "grant_type=password&client_id=despacito-cli&username=a&password=b",
        "client_id=despacito-cli&client_id=despacito-cli&grant_type=refresh_token",
        "%%%",
        "grant_type=authorization_code&client_id=despacito-cli&code=" + "a".repeat(43) +
        "&redirect_uri=http://127.0.0.1:1/&code_verifier=" + "b".repeat(200),
      ]
    ) {
      await send("/oauth/token", form(body));
      await send("/oauth/revoke", form(body));
      await send("/oauth/authorize", form(body, f.cookie));
    }
    await send("/oauth/token", { method: "POST", body: "x".repeat(10) });
    await send("/api/cli-sessions/not-a-uuid", { method: "DELETE" });
    assert.ok(statuses.every((s) => s >= 300 && s < 500), `statuses: ${statuses.join(",")}`);
    assert.ok(w.server.logs().every((l) => l.level !== "error"), "nothing logged as an error");
  });
});
