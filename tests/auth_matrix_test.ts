/**
 * The auth matrix: every route in the route table (routeTable over
 * buildAreas, so routes other areas add are included automatically) ×
 * {no credentials, bad token, expired token, revoked token, valid token,
 * valid session, session without CSRF proof} → the outcome its declared
 * access implies. EXPECTED must name every route: a new route without a
 * decision here fails the suite. Areas that mount routes only when
 * configured must be configured in `ENV` below so their routes are seen.
 * The real routes are asked of despacito as it ships (a subprocess under the
 * production flags, on the same database); the route table itself is read
 * in process. Synthetic probe routes (one per access kind and method) pin the
 * guard's decisions even for access kinds no real route uses yet: they exist
 * only in an in-process app, which serves nothing else.
 */

import assert from "node:assert/strict";
import { buildAreas } from "../src/areas.ts";
import { createSession } from "../src/auth/sessions.ts";
import { createToken, revokeToken } from "../src/auth/tokens.ts";
import { createLocalUser, setDisabled } from "../src/auth/users.ts";
import { createCode, exchangeCode, revokeByToken, s256 } from "../src/auth/oauth_store.ts";
import { loadConfig } from "../src/config/config.ts";
import { openDatabase } from "../src/db/connect.ts";
import { loadMigrations, migrate } from "../src/db/migrate.ts";
import type { Principal } from "../src/auth/principal.ts";
import { createApp, routeTable } from "../src/http/app.ts";
import type { Area } from "../src/http/area.ts";
import type { Access, Method, RouteDef } from "../src/http/types.ts";
import { createLogger } from "../src/log/log.ts";
import { VERSION_INFO } from "../src/version.ts";
import { freshDatabase } from "./_harness/postgres.ts";
import { spawnServer, waitFor } from "./_harness/server.ts";

interface Decision {
  access: Access;
  /** Public routes that check CSRF themselves (logout): refused without a proof. */
  selfCsrf?: boolean;
}

/** Every route and the access it must declare. Add yours here. */
const EXPECTED: Record<string, Decision> = {
  "GET /health": { access: "public" },
  "GET /health/ready": { access: "public" },
  "POST /api/tokens": { access: "bootstrap" },
  "GET /api/tokens": { access: "authenticated" },
  "DELETE /api/tokens/:id": { access: "manage" },
  "GET /api/me": { access: "authenticated" },
  "GET /api/auth/methods": { access: "public" },
  "GET /api/oidc/providers": { access: "public" },
  "GET /auth/login": { access: "public" },
  "GET /auth/callback": { access: "public" },
  "POST /auth/local/login": { access: "public" },
  "POST /auth/logout": { access: "public", selfCsrf: true },
  "POST /api/repositories": { access: "manage" },
  "GET /api/repositories": { access: "authenticated" },
  "GET /api/repositories/:id": { access: "authenticated" },
  "DELETE /api/repositories/:id": { access: "manage" },
  "POST /api/repositories/:id/rotate-secret": { access: "manage" },
  "GET /api/forge/status-posts": { access: "authenticated" },
  "POST /webhook/forgejo/:id": { access: "signed" },
  "GET /assets/:file": { access: "public" },
  "POST /webhook": { access: "token" },
  "GET /api/deployments": { access: "authenticated" },
  "GET /api/deployments/:id": { access: "authenticated" },
  "GET /api/deployments/:id/log": { access: "authenticated" },
  "GET /api/deployments/:id/lines": { access: "authenticated" },
  "GET /api/deployments/:id/events": { access: "authenticated" },
  "POST /api/deployments/:id/cancel": { access: "authenticated" },
  "POST /api/deployments/:id/retry": { access: "authenticated" },
  "POST /api/packages/:name/rollback": { access: "authenticated" },
  "POST /api/packages/:name/release": { access: "authenticated" },
  "GET /api/nodes": { access: "authenticated" },
  "POST /api/nodes/refresh": { access: "authenticated" },
  "POST /api/deployments/:id/promote": { access: "authenticated" },
  "GET /api/packages": { access: "authenticated" },
  "GET /metrics": { access: "token" },
  "GET /api/health/load": { access: "public" },
  "GET /api/audit": { access: "manage" },
  "GET /api/audit/verify": { access: "manage" },
  "GET /api/state/export": { access: "manage" },
  "GET /api/deployments/:id/notifications": { access: "authenticated" },
  "GET /api/openapi.json": { access: "public" },
  "GET /.well-known/oauth-authorization-server": { access: "public" },
  "GET /oauth/authorize": { access: "public" },
  "GET /oauth/consent.css": { access: "public" },
  "POST /oauth/authorize": { access: "public", selfCsrf: true },
  "POST /oauth/token": { access: "public" },
  "POST /oauth/revoke": { access: "public" },
  "GET /api/cli-sessions": { access: "authenticated" },
  "DELETE /api/cli-sessions/:id": { access: "manage" },
};

const ACCESS_KINDS: Access[] = [
  "public",
  "authenticated",
  "manage",
  "token",
  "bootstrap",
  "signed",
];
const PROBE_PREFIX = "/api/__probe/";

const SCENARIOS = [
  "no credentials",
  "bad token",
  "expired token",
  "revoked token",
  "valid token",
  "scoped token",
  "valid session",
  "session without CSRF proof",
  "CLI access token",
  "revoked CLI access token",
  "CLI access token of a disabled user",
] as const;
type Scenario = typeof SCENARIOS[number];
type Outcome = "allowed" | 401 | 403;

function expectedOutcome(d: Decision, method: Method, scenario: Scenario): Outcome {
  const write = method !== "GET";
  switch (d.access) {
    case "public":
    case "signed":
      return d.selfCsrf && write && scenario === "session without CSRF proof" ? 403 : "allowed";
    case "token":
      // A CLI access token is a bearer too: `despacito deploy` posts to the webhook as its user.
      return scenario === "valid token" || scenario === "scoped token" ||
          scenario === "CLI access token"
        ? "allowed"
        : 401;
    case "authenticated":
    case "manage":
    case "bootstrap": // bootstrap is closed here: tokens exist
      if (scenario === "scoped token") return d.access === "authenticated" ? "allowed" : 403;
      if (scenario === "valid token" || scenario === "valid session") return "allowed";
      // Acts as its user's session, without CSRF proof: no cookie is involved.
      if (scenario === "CLI access token") return "allowed";
      if (scenario === "session without CSRF proof") return write ? 403 : "allowed";
      return 401;
  }
}

// Whatever optional areas need to mount all their routes.
const ENV = (port: number) => ({
  DESPACITO_OIDC_ISSUER_URLS: `http://127.0.0.1:${port}`,
  DESPACITO_OIDC_CLIENT_ID: "matrix",
  DESPACITO_OIDC_ALLOW_HTTP: "true",
  DESPACITO_BASE_URL: "https://despacito.example",
  DESPACITO_AUTH_RATE_LIMIT: "100000",
});

function probeArea(): Area<Principal> {
  const routes: RouteDef<Principal>[] = ACCESS_KINDS.flatMap((access) =>
    (["GET", "POST"] as const).map((method) => ({
      method,
      path: `${PROBE_PREFIX}${access}`,
      access,
      summary: "matrix probe",
      handler: (c) => c.json({ ok: true }),
    }))
  );
  return { name: "probe", routes };
}

/** A port nothing listens on: the configured issuer is never reached. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const key = (r: Pick<RouteDef<Principal>, "method" | "path">) => `${r.method} ${r.path}`;
const concrete = (path: string) =>
  path.replace(/:[A-Za-z_]+(\{[^}]*\})?\??/g, crypto.randomUUID()).replace(/\*/g, "x");

Deno.test("auth matrix: every route × every credential gets its declared access", async () => {
  const pg = await freshDatabase();
  const dataDir = await Deno.makeTempDir({ prefix: "despacito-matrix-" });
  const serverDataDir = await Deno.makeTempDir({ prefix: "despacito-matrix-server-" });
  const env = ENV(freePort());
  const config = loadConfig({
    DESPACITO_POSTGRES_CONNECTION_URI: pg.uri,
    DESPACITO_DATA_DIR: dataDir,
    ...env,
  });
  const log = createLogger({ level: "error", sink: () => {} });
  const db = await openDatabase({ postgresUri: pg.uri, dataDir, log });
  const stopping = new AbortController();
  let stopServer: (() => Promise<number>) | undefined;
  try {
    const migrations = await loadMigrations();
    await migrate(db.sql, migrations, log);
    const built = await buildAreas({ config, log, sql: db.sql, stopping: stopping.signal });
    const areas = [...built.areas, probeArea()];
    const deps = { config, log, sql: db.sql, migrations, version: VERSION_INFO, ...built, areas };
    const table = routeTable(deps);
    const origin = new URL(config.baseUrl!).origin;
    const probes = createApp(deps);
    const server = await spawnServer({
      env: {
        DESPACITO_POSTGRES_CONNECTION_URI: pg.uri,
        DESPACITO_DATA_DIR: serverDataDir,
        DESPACITO_LISTEN: "127.0.0.1:0",
        ...env,
      },
    });
    stopServer = () => server.stop();
    const ask = (path: string, init: RequestInit) =>
      path.startsWith(PROBE_PREFIX)
        ? probes.request(`${origin}${path}`, init)
        : fetch(`${server.url}${path}`, { ...init, redirect: "manual" });

    // 1. The table and the decisions agree, both ways.
    const real = table.filter((r) => !r.path.startsWith(PROBE_PREFIX));
    const undecided = real.filter((r) => !(key(r) in EXPECTED)).map(key);
    assert.deepEqual(undecided, [], `routes with no decision in EXPECTED: ${undecided.join(", ")}`);
    const gone = Object.keys(EXPECTED).filter((k) => !real.some((r) => key(r) === k));
    assert.deepEqual(gone, [], `EXPECTED names routes that no longer exist: ${gone.join(", ")}`);
    for (const r of real) {
      assert.equal(r.access, EXPECTED[key(r)].access, `${key(r)} declares ${r.access}`);
    }

    // 2. Credentials.
    const bearer = async (f: (id: string) => Promise<unknown>) => {
      const t = await createToken(db.sql, { description: "matrix" });
      await f(t.id);
      return t.token;
    };
    const valid = await bearer(async () => {});
    const scoped = (await createToken(db.sql, { description: "scoped", packages: ["web"] })).token;
    const expired = await bearer((id) =>
      db.sql`update auth_token set expires_at = now() - interval '1 second' where id = ${id}`
    );
    const revoked = await bearer((id) => revokeToken(db.sql, id));
    const user = await createLocalUser(db.sql, "matrix", "!unusable");
    const sessionCookie = async () => {
      const s = await createSession(db.sql, { userId: user.id, maxAgeMs: 3_600_000 });
      return `__Host-despacito_session=${s.token}`;
    };
    // CLI access tokens through the real code exchange (PKCE) of the store.
    const cliToken = async (username: string) => {
      const u = await createLocalUser(db.sql, username, "!unusable");
      const verifier = "v".repeat(43);
      const code = await createCode(db.sql, {
        clientId: "despacito-cli",
        userId: u.id,
        redirectUri: "http://127.0.0.1:1/cb",
        codeChallenge: await s256(verifier),
        ttlMs: 60_000,
      });
      const r = await exchangeCode(db.sql, {
        code,
        clientId: "despacito-cli",
        redirectUri: "http://127.0.0.1:1/cb",
        codeVerifier: verifier,
      }, { accessMs: 3_600_000, refreshMs: 86_400_000 });
      assert.ok(r.ok);
      return { user: u, tokens: r.tokens };
    };
    const cli = (await cliToken("matrix-cli")).tokens.accessToken;
    const revokedCli = (await cliToken("matrix-cli-revoked")).tokens;
    await revokeByToken(db.sql, revokedCli.refreshToken, "despacito-cli");
    const disabledCli = await cliToken("matrix-cli-disabled");
    await setDisabled(db.sql, disabledCli.user.id, true);
    const headersFor = async (scenario: Scenario): Promise<Record<string, string>> => {
      switch (scenario) {
        case "no credentials":
          return {};
        case "bad token":
          return { authorization: `Bearer ${"0".repeat(64)}` };
        case "expired token":
          return { authorization: `Bearer ${expired}` };
        case "revoked token":
          return { authorization: `Bearer ${revoked}` };
        case "valid token":
          return { authorization: `Bearer ${valid}` };
        case "scoped token":
          return { authorization: `Bearer ${scoped}` };
        case "valid session":
          return { cookie: await sessionCookie(), "sec-fetch-site": "same-origin", origin };
        case "session without CSRF proof":
          return { cookie: await sessionCookie() };
        case "CLI access token":
          return { authorization: `Bearer ${cli}` };
        case "revoked CLI access token":
          return { authorization: `Bearer ${revokedCli.accessToken}` };
        case "CLI access token of a disabled user":
          return { authorization: `Bearer ${disabledCli.tokens.accessToken}` };
      }
    };

    // 3. The matrix.
    const failures: string[] = [];
    for (const r of table) {
      const decision = r.path.startsWith(PROBE_PREFIX) ? { access: r.access } : EXPECTED[key(r)];
      for (const scenario of SCENARIOS) {
        const want = expectedOutcome(decision, r.method, scenario);
        const res = await ask(concrete(r.path), {
          method: r.method,
          headers: { "content-type": "application/json", ...await headersFor(scenario) },
          body: r.method === "GET" ? undefined : "{}",
        });
        const text = await res.text();
        let errCode: string | undefined;
        try {
          errCode = JSON.parse(text)?.error?.code;
        } catch { /* not JSON: a redirect or page */ }
        const guardRefusal = (res.status === 401 && errCode === "unauthenticated") ||
          errCode === "csrf_failed" || errCode === "insufficient_scope";
        const ok = want === "allowed"
          ? !guardRefusal && (!r.path.startsWith(PROBE_PREFIX) || res.status === 200)
          : res.status === want;
        if (!ok) {
          failures.push(
            `${key(r)} × ${scenario}: want ${want}, got ${res.status} ${text.slice(0, 120)}`,
          );
        }
      }
    }
    assert.deepEqual(failures, []);
    // Every real route × scenario reached the shipped server (its request log says so).
    const asked = (table.length - ACCESS_KINDS.length * 2) * SCENARIOS.length;
    await waitFor(
      "the server's request log",
      () => server.logs().filter((l) => l.msg === "request").length >= asked || undefined,
    );
  } finally {
    if (stopServer) assert.equal(await stopServer(), 0);
    stopping.abort();
    await db.close();
    await pg.drop();
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(serverDataDir, { recursive: true });
  }
});
