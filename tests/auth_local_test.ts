/**
 * Local accounts and sessions over HTTP against real Postgres: login,
 * indistinguishable failures (also in timing), the 72-byte rule, rate
 * limits with Retry-After and trusted proxies, logout, disabled users,
 * session lifetimes, CSRF on cookie writes, the first admin from a file.
 */

import assert from "node:assert/strict";
import { hashPassword } from "../src/auth/passwords.ts";
import { createLocalUser, setDisabled } from "../src/auth/users.ts";
import { runCli, spawnServer } from "./_harness/server.ts";
import {
  type AuthServer,
  json,
  sameOrigin,
  setCookie,
  startAuthServer,
} from "./_harness/auth_server.ts";

const PASSWORD = "correct horse battery";

async function withServer(
  env: Record<string, string>,
  fn: (s: AuthServer) => Promise<void>,
) {
  const s = await startAuthServer({ env });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

async function addUser(s: AuthServer, name: string, password = PASSWORD) {
  return await createLocalUser(s.sql, name, await hashPassword(password));
}

function login(s: AuthServer, username: string, password: string, headers = {}) {
  return fetch(`${s.base}/auth/local/login`, {
    method: "POST",
    headers: sameOrigin(s.base, headers),
    body: JSON.stringify({ username, password }),
  });
}

async function sessionOf(res: Response): Promise<string> {
  assert.equal(res.status, 200, await res.clone().text());
  await res.body?.cancel();
  return `despacito_session=${setCookie(res, "despacito_session")!.value}`;
}

const me = (s: AuthServer, cookie: string) => fetch(`${s.base}/api/me`, { headers: { cookie } });

const code = async (res: Response) => ((await json(res)).error as { code: string }).code;

/** Status and machine-readable code of an error answer; reads the body so none is left open. */
const failure = async (res: Response) => ({ status: res.status, code: await code(res) });

const UNAUTHENTICATED = { status: 401, code: "unauthenticated" };

/** /api/me answers 200 for this cookie's session (the body is read and checked). */
async function assertSignedIn(s: AuthServer, cookie: string) {
  const res = await me(s, cookie);
  const body = await json(res);
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.kind, "session");
}

Deno.test("POST /auth/local/login: a session for /api/me; failures all look alike", async () => {
  await withServer({}, async (s) => {
    const alice = await addUser(s, "alice");
    const res = await login(s, "alice", PASSWORD);
    const body = await json(res.clone());
    assert.deepEqual(body.user, {
      id: alice.id,
      issuer: "local",
      username: "alice",
      email: null,
      display_name: null,
    });
    const c = setCookie(res, "despacito_session")!;
    assert.match(c.attrs, /HttpOnly/i);
    assert.match(c.attrs, /SameSite=Lax/i);
    assert.match(c.attrs, /Path=\//);
    assert.doesNotMatch(c.attrs, /Secure/i);
    const cookie = await sessionOf(res);
    const who = await json(await me(s, cookie));
    assert.equal(who.kind, "session");
    assert.equal((who.user as { username: string }).username, "alice");
    // Only the hash is stored.
    const [row] = await s.sql<{ tokenSha256: string }[]>`select token_sha256 from sessions`;
    assert.notEqual(row.tokenSha256, c.value);
    assert.ok(!s.logs.some((l) => l.includes(c.value) || l.includes(PASSWORD)));

    const wrong = await login(s, "alice", "not the password");
    const unknown = await login(s, "mallory", "not the password");
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    const [w, u] = [await json(wrong), await json(unknown)];
    assert.deepEqual(w, u);
    assert.equal((w.error as { code: string }).code, "invalid_credentials");
    const failures = s.logged("login failed");
    assert.deepEqual(failures.map((f) => f.reason), ["wrong_password", "unknown_user"]);
    assert.equal(failures[0].client_address, "127.0.0.1");
    assert.ok(!s.logs.some((l) => l.includes("not the password")));
  });
});

Deno.test("POST /auth/local/login: an unknown user costs a bcrypt comparison too", async () => {
  await withServer({ DESPACITO_AUTH_RATE_LIMIT: "100" }, async (s) => {
    await addUser(s, "alice");
    const time = async (user: string) => {
      const t = performance.now();
      await (await login(s, user, "wrong password")).body?.cancel();
      return performance.now() - t;
    };
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[1];
    const wrong = median([await time("alice"), await time("alice"), await time("alice")]);
    const unknown = median([await time("nobody"), await time("nobody"), await time("nobody")]);
    // Without the dummy hash an unknown user answers in ~1ms against a cost-12 bcrypt's ~100ms+.
    assert.ok(unknown > wrong * 0.5, `unknown ${unknown}ms vs wrong password ${wrong}ms`);
  });
});

Deno.test("passwords: over 72 bytes refused at creation and never matched by its prefix", async () => {
  await withServer({}, async (s) => {
    const long = "x".repeat(73);
    await assert.rejects(hashPassword(long), /at most 72 bytes/);
    const p72 = "é".repeat(36); // 72 bytes in UTF-8
    await addUser(s, "bob", p72);
    assert.deepEqual(await failure(await login(s, "bob", p72 + "extra")), {
      status: 401,
      code: "invalid_credentials",
    });
    await sessionOf(await login(s, "bob", p72));
  });
});

Deno.test("POST /auth/local/login: rate limited per client address with Retry-After", async () => {
  await withServer({
    DESPACITO_AUTH_RATE_LIMIT: "3",
    DESPACITO_AUTH_RATE_WINDOW: "1h",
  }, async (s) => {
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await failure(await login(s, "nobody", "wrong password")), {
        status: 401,
        code: "invalid_credentials",
      });
    }
    const limited = await login(s, "nobody", "wrong password");
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) > 0);
    assert.equal(await code(limited), "rate_limited");
    // X-Forwarded-For from an untrusted peer changes nothing.
    const spoofed = await login(s, "nobody", "x", { "x-forwarded-for": "203.0.113.7" });
    assert.equal(spoofed.status, 429);
    await spoofed.body?.cancel();
    // Other budgets are separate: OIDC start and token bootstrap.
    const boot = await fetch(`${s.base}/api/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(boot.status, 400);
    await boot.body?.cancel();
  });
});

Deno.test("rate limits: behind a trusted proxy each forwarded client has its own budget", async () => {
  await withServer({
    DESPACITO_AUTH_RATE_LIMIT: "1",
    DESPACITO_AUTH_RATE_WINDOW: "1h",
    DESPACITO_TRUSTED_PROXIES: "127.0.0.0/8",
  }, async (s) => {
    const as = async (ip: string) =>
      await failure(await login(s, "nobody", "wrong password", { "x-forwarded-for": ip }));
    const wrong = { status: 401, code: "invalid_credentials" };
    assert.deepEqual(await as("203.0.113.7"), wrong);
    assert.deepEqual(await as("203.0.113.7"), { status: 429, code: "rate_limited" });
    assert.deepEqual(await as("198.51.100.2, 127.0.0.1"), wrong);
    assert.equal(s.logged("login failed").at(-1)!.client_address, "198.51.100.2");
  });
});

Deno.test("POST /api/tokens bootstrap: rate limited per client address", async () => {
  await withServer(
    { DESPACITO_AUTH_RATE_LIMIT: "2", DESPACITO_AUTH_RATE_WINDOW: "1h" },
    async (s) => {
      const boot = () =>
        fetch(`${s.base}/api/tokens`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ description: "x" }),
        });
      const first = await boot();
      const created = await json(first);
      assert.equal(first.status, 201, JSON.stringify(created));
      assert.equal(typeof created.token, "string");
      // Closed now that a token exists.
      assert.deepEqual(await failure(await boot()), UNAUTHENTICATED);
      const limited = await boot();
      assert.ok(Number(limited.headers.get("retry-after")) > 0);
      assert.deepEqual(await failure(limited), { status: 429, code: "rate_limited" });
    },
  );
});

Deno.test("POST /auth/logout revokes the session and clears the cookie", async () => {
  await withServer({}, async (s) => {
    await addUser(s, "alice");
    const cookie = await sessionOf(await login(s, "alice", PASSWORD));
    // Without a same-origin proof logout is refused (cross-site logout).
    const forged = await fetch(`${s.base}/auth/logout`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json", "sec-fetch-site": "cross-site" },
    });
    assert.equal(forged.status, 403);
    await forged.body?.cancel();
    const out = await fetch(`${s.base}/auth/logout`, {
      method: "POST",
      headers: { cookie, ...sameOrigin(s.base) },
    });
    assert.equal(out.status, 204);
    assert.equal(await out.text(), "");
    assert.match(out.headers.getSetCookie().join("\n"), /despacito_session=;.*Max-Age=0/i);
    assert.deepEqual(await failure(await me(s, cookie)), UNAUTHENTICATED);
    const [row] = await s.sql<{ revokedAt: Date | null }[]>`select revoked_at from sessions`;
    assert.ok(row.revokedAt);
  });
});

Deno.test("sessions: a disabled user is out at once and cannot sign in", async () => {
  await withServer({}, async (s) => {
    await addUser(s, "alice");
    const cookie = await sessionOf(await login(s, "alice", PASSWORD));
    await setDisabled(s.sql, "alice", true);
    assert.deepEqual(await failure(await me(s, cookie)), UNAUTHENTICATED);
    const again = await login(s, "alice", PASSWORD);
    assert.equal(again.status, 401);
    assert.equal(await code(again), "invalid_credentials");
    assert.equal(s.logged("login failed").at(-1)!.reason, "disabled");
  });
});

Deno.test("sessions: idle and absolute limits; a new id at every login", async () => {
  await withServer({ DESPACITO_SESSION_IDLE_TIMEOUT: "30m" }, async (s) => {
    await addUser(s, "alice");
    const first = await sessionOf(await login(s, "alice", PASSWORD));
    const second = await sessionOf(
      await login(s, "alice", PASSWORD, { cookie: first }),
    );
    assert.notEqual(first, second);
    // The old one ended at the new login.
    assert.deepEqual(await failure(await me(s, first)), UNAUTHENTICATED);
    await assertSignedIn(s, second);
    await s.sql`update sessions set last_seen_at = now() - interval '31 minutes'`;
    assert.deepEqual(await failure(await me(s, second)), UNAUTHENTICATED);
    const third = await sessionOf(await login(s, "alice", PASSWORD));
    await s.sql`update sessions set expires_at = now() - interval '1 second'`;
    assert.deepEqual(await failure(await me(s, third)), UNAUTHENTICATED);
  });
});

Deno.test("CSRF: cookie writes need JSON and a same-origin proof; bearer writes do not", async () => {
  await withServer({}, async (s) => {
    await addUser(s, "alice");
    const cookie = await sessionOf(await login(s, "alice", PASSWORD));
    const post = (headers: Record<string, string>) =>
      fetch(`${s.base}/api/tokens`, {
        method: "POST",
        headers: { cookie, ...headers },
        body: JSON.stringify({ description: "ui" }),
      });
    const cases: [Record<string, string>, number][] = [
      [{ "content-type": "application/json" }, 403],
      [{ "content-type": "application/json", "sec-fetch-site": "cross-site" }, 403],
      [{ "content-type": "application/json", "sec-fetch-site": "same-site" }, 403],
      [{ "content-type": "application/json", origin: "https://evil.example" }, 403],
      [{ "content-type": "text/plain", "sec-fetch-site": "same-origin" }, 403],
      [{ "content-type": "application/json", "sec-fetch-site": "same-origin" }, 201],
      [{ "content-type": "application/json", origin: s.base }, 201],
    ];
    let token = "";
    for (const [headers, status] of cases) {
      const res = await post(headers);
      const body = await json(res);
      assert.equal(res.status, status, `${JSON.stringify(headers)} → ${JSON.stringify(body)}`);
      if (status === 403) assert.equal((body.error as { code: string }).code, "csrf_failed");
      else token = body.token as string;
    }
    // Reads need no proof; bearer writes need none either.
    await assertSignedIn(s, cookie);
    const bearer = await fetch(`${s.base}/api/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ description: "ci" }),
    });
    const minted = await json(bearer);
    assert.equal(bearer.status, 201, JSON.stringify(minted));
    assert.equal(typeof minted.token, "string");
  });
});

Deno.test("DESPACITO_LOCAL_AUTH=false turns local sign-in off", async () => {
  await withServer({ DESPACITO_LOCAL_AUTH: "false" }, async (s) => {
    await addUser(s, "alice");
    const res = await login(s, "alice", PASSWORD);
    assert.equal(res.status, 404);
    assert.equal(await code(res), "local_auth_disabled");
    assert.deepEqual(await json(await fetch(`${s.base}/api/auth/methods`)), {
      local: false,
      providers: [],
    });
  });
});

Deno.test("DESPACITO_ADMIN_PASSWORD_FILE creates the first admin; Secure cookies use __Host-", async () => {
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(file, "first admin password\n");
  try {
    await withServer({
      DESPACITO_ADMIN_PASSWORD_FILE: file,
      DESPACITO_SESSION_COOKIE_SECURE: "true",
    }, async (s) => {
      const res = await login(s, "admin", "first admin password");
      assert.equal(res.status, 200);
      await res.body?.cancel();
      const c = setCookie(res, "__Host-despacito_session")!;
      assert.match(c.attrs, /Secure/);
      assert.match(c.attrs, /Path=\//);
      assert.doesNotMatch(c.attrs, /Domain/i);
      assert.equal(s.logged("first local account created").length, 1);
    });
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("local sign-in and sessions work on embedded PGlite too", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "despacito-pglite-" });
  const env = {
    DESPACITO_LISTEN: "127.0.0.1:0",
    DESPACITO_DATA_DIR: dataDir,
    DESPACITO_SESSION_COOKIE_SECURE: "false",
    DESPACITO_SHUTDOWN_TIMEOUT: "2s",
  };
  // The embedded database has one user at a time: accounts are changed while the server is down.
  const added = await runCli(["user", "add", "alice"], env, { stdin: `${PASSWORD}\n` });
  assert.equal(added.code, 0, added.stderr);
  let server = await spawnServer({ env });
  try {
    const s = { base: server.url } as AuthServer;
    const cookie = await sessionOf(await login(s, "alice", PASSWORD));
    assert.equal((await json(await me(s, cookie))).kind, "session");
    assert.equal(await server.stop(), 0);
    const disabled = await runCli(["user", "disable", "alice"], env);
    assert.equal(disabled.code, 0, disabled.stderr);
    server = await spawnServer({ env });
    assert.deepEqual(
      await failure(await me({ base: server.url } as AuthServer, cookie)),
      UNAUTHENTICATED,
    );
  } finally {
    await server.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
