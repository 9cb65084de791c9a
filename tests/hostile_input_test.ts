/**
 * Hostile input against despacito as it ships (a subprocess under the
 * production flags, real PostgreSQL, git, nix, the strict fake colmena):
 * a bounded, seeded generator sends several hundred requests over every
 * route of README's route table — malformed, oversized and deeply nested
 * JSON, wrong types, control and bidi characters, path traversal and shell
 * metacharacters in every field and path parameter, every dangerous
 * flake_ref form, bad UUIDs, SQL-shaped query strings, malformed
 * Authorization headers and cookies, forged forge deliveries, wrong content
 * types, chunked and oversize bodies. Pass: no 5xx, the server alive, the
 * flake repo changed only by deployments, and colmena called only with
 * validated argv (the fake fails the test otherwise). Prints the status
 * histogram.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { bundleUi } from "../src/build/bundle_ui.ts";
import { withDeployEnv } from "./_harness/deploy_env.ts";
import { git } from "./_harness/flakes.ts";

const README = fileURLToPath(new URL("../README.md", import.meta.url));

/** `METHOD /path` of every row of README's "Every route" table. */
async function routeTable(): Promise<{ method: string; path: string }[]> {
  const text = await Deno.readTextFile(README);
  const section = text.slice(text.indexOf("### Every route"));
  const table = section.slice(0, section.indexOf("\n### ", 5));
  return [...table.matchAll(/^\| `(GET|POST|PUT|PATCH|DELETE) (\/[^`\s]*)`/gm)]
    .map((m) => ({ method: m[1], path: m[2] }));
}

/** A small deterministic PRNG, so a failure can be replayed. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const NASTY = [
  "",
  "a".repeat(3000),
  "../../../etc/passwd",
  "..%2F..%2Fetc%2Fpasswd",
  "\u0000",
  "nul\u0000inside",
  "$(id)",
  "`touch /tmp/despacito-pwned`",
  "; rm -rf / #",
  "' OR '1'='1",
  "1; DROP TABLE deployments;--",
  "\u202egnp.exe",
  "zero\u200bwidth",
  "--upload-pack=touch /tmp/despacito-pwned",
  "-x",
  "#--option",
  "<script>alert(1)</script>",
  "\r\nX-Injected: 1",
  "💥",
  "null",
];

const FLAKE_REFS = [
  "github:acme/webapp#--option",
  "git+https://git.example/acme/webapp?ref=--upload-pack=touch%20/tmp/x",
  "git+https://git.example/acme/webapp?ref=$(id)",
  "git+https://git.example/acme/webapp?ref=../../../etc",
  "git+https://git.example/acme/webapp?dir=../x",
  "path:/etc",
  "file:///etc/passwd",
  "/etc/passwd",
  "flake:nixpkgs",
  "github:-acme/webapp",
  "git+ssh://-oProxyCommand=touch%20/tmp/x/acme/webapp",
];

function hostileValue(r: () => number): unknown {
  const pick = r();
  if (pick < 0.6) return NASTY[Math.floor(r() * NASTY.length)];
  if (pick < 0.7) return Math.floor(r() * 1e9) * (r() < 0.5 ? -1 : 1);
  if (pick < 0.8) return [NASTY[Math.floor(r() * NASTY.length)]];
  if (pick < 0.9) return { $gt: "", nested: { deeper: NASTY[Math.floor(r() * NASTY.length)] } };
  return r() < 0.5 ? null : true;
}

const FIELDS = [
  "package",
  "version",
  "nix_store_path",
  "flake_ref",
  "description",
  "expires_in",
  "packages",
  "username",
  "password",
  "deployment_id",
  "forge_url",
  "owner",
  "repo",
  "token",
  "trigger",
  "source_url",
];

interface Attempt {
  body?: BodyInit;
  headers: Record<string, string>;
  what: string;
}

function attempts(r: () => number, token: string, uuid: string): Attempt[] {
  const json = { "Content-Type": "application/json" };
  const auth = { Authorization: `Bearer ${token}` };
  const obj = () =>
    Object.fromEntries(FIELDS.filter(() => r() < 0.4).map((f) => [f, hostileValue(r)]));
  const webhookish = () => ({
    package: r() < 0.5 ? "webapp" : hostileValue(r),
    version: r() < 0.3 ? "1.1.0" : hostileValue(r),
    nix_store_path: "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-webapp-1.1.0",
    flake_ref: FLAKE_REFS[Math.floor(r() * FLAKE_REFS.length)],
  });
  const chunked = (text: string) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < text.length; i += 7) {
          c.enqueue(new TextEncoder().encode(text.slice(i, i + 7)));
        }
        c.close();
      },
    });
  return [
    { what: "no credentials", headers: {} },
    { what: "hostile JSON object", headers: { ...json, ...auth }, body: JSON.stringify(obj()) },
    {
      what: "webhook-shaped, bad refs",
      headers: { ...json, ...auth },
      body: JSON.stringify(webhookish()),
    },
    { what: "malformed JSON", headers: { ...json, ...auth }, body: '{"package": "webapp",' },
    {
      what: "deeply nested JSON",
      headers: { ...json, ...auth },
      body: "[".repeat(50_000) + "]".repeat(50_000),
    },
    {
      what: "text/plain JSON",
      headers: { "Content-Type": "text/plain", ...auth },
      body: JSON.stringify(webhookish()),
    },
    {
      what: "form body",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...auth },
      body: "package=webapp&version=%00",
    },
    {
      what: "xml body",
      headers: { "Content-Type": "application/xml", ...auth },
      body: "<a>&xxe;</a>",
    },
    {
      what: "oversize body",
      headers: { ...json, ...auth },
      body: JSON.stringify({ description: "x".repeat(1_200_000) }),
    },
    { what: "chunked body", headers: { ...json, ...auth }, body: chunked(JSON.stringify(obj())) },
    {
      what: "malformed bearer",
      headers: {
        Authorization: [
          "Bearer",
          "Bearer ",
          "Basic YTpi",
          `Bearer ${"A".repeat(9000)}`,
          "Bearer \u0000",
        ][Math.floor(r() * 5)].replace("\u0000", "%00"),
      },
    },
    {
      what: "garbage cookies",
      headers: {
        Cookie: `despacito_session=${
          encodeURIComponent(String(hostileValue(r)))
        }; __Host-despacito_session=../..`,
      },
    },
    {
      what: "forged forge signature",
      headers: {
        ...json,
        "X-Forgejo-Signature": "00".repeat(32),
        "X-Forgejo-Event": "release",
        "X-Forgejo-Delivery": uuid,
      },
      body: JSON.stringify({ action: "published", release: { tag_name: "v1.1.0\u0000" } }),
    },
  ];
}

function fillPath(path: string, r: () => number, uuid: string): string {
  return path.replace(/:(\w+)/g, () => {
    const v = r() < 0.25 ? uuid : String(hostileValue(r));
    return encodeURIComponent(v);
  });
}

const QUERIES = [
  "",
  "?status=' OR 1=1--&limit=-1",
  "?limit=999999999999&cursor=%00",
  "?package=../../etc&status=queued,running,%27",
  "?deployment_id=1%3B%20DROP%20TABLE%20deployments",
  "?wait=maybe",
  "?issuer=javascript:alert(1)&return_to=//evil.example",
];

Deno.test(
  "hostile input: hundreds of bad requests over every route, no 5xx, nothing changed that should not",
  {
    sanitizeResources: false,
    sanitizeOps: false,
  },
  async () => {
    // What ships has its web UI built (`deno task start` and the binary both do); without it the UI
    // routes answer 503 "not built", which is right but not what this test is about.
    await bundleUi();
    const routes = await routeTable();
    assert.ok(routes.length >= 40, `README's route table has ${routes.length} routes`);
    await withDeployEnv({ start: false }, async (env) => {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (l.addr as Deno.NetAddr).port;
      l.close();
      await env.startServer({
        DESPACITO_LISTEN: `127.0.0.1:${port}`,
        // Mounts the forge's routes too.
        DESPACITO_BASE_URL: `http://127.0.0.1:${port}`,
        DESPACITO_SESSION_COOKIE_SECURE: "false",
        DESPACITO_AUTH_RATE_LIMIT: "100000",
      });
      const headBefore = await env.flake.head();
      const r = prng(20261129);
      const uuid = crypto.randomUUID();
      const histogram = new Map<number, number>();
      const fives: string[] = [];
      let sent = 0;
      for (const route of routes) {
        for (const a of attempts(r, env.token, uuid)) {
          if (route.method === "GET" && a.body !== undefined) continue;
          const query = route.path === "/webhook"
            ? "?wait=false"
            : QUERIES[Math.floor(r() * QUERIES.length)];
          const url = `${env.url}${fillPath(route.path, r, uuid)}${query}`;
          let status: number;
          try {
            const res = await fetch(url, {
              method: route.method,
              headers: a.headers,
              body: a.body,
            });
            status = res.status;
            await res.body?.cancel();
          } catch (e) {
            // A request the client itself refuses to send (e.g. a header with a newline) is not the server's.
            if (e instanceof TypeError) continue;
            throw e;
          }
          sent++;
          histogram.set(status, (histogram.get(status) ?? 0) + 1);
          if (status >= 500) {
            fives.push(`${status} ${route.method} ${url.slice(0, 160)} (${a.what})`);
          }
        }
      }
      const lines = [...histogram.entries()].sort((x, y) => x[0] - y[0]).map(([s, n]) =>
        `${s}: ${n}`
      );
      Deno.stdout.writeSync(
        new TextEncoder().encode(`hostile input: ${sent} requests; ${lines.join(", ")}\n`),
      );
      assert.ok(sent >= 300, `only ${sent} requests were sent`);
      assert.deepEqual(fives, [], "no request may get a 5xx");
      const health = await fetch(`${env.url}/health`);
      assert.equal(health.status, 200, "the server is alive");
      await health.body?.cancel();
      // The flake repo changed only by deployments (deploy/revert commits of flake.lock), never by hand.
      assert.equal(await env.flake.status(), "");
      const subjects = (await git(env.flake.dir, "log", "--format=%s", `${headBefore}..HEAD`))
        .trim();
      for (const s of subjects ? subjects.split("\n") : []) {
        assert.match(s, /^(revert )?deploy webapp /, `unexpected commit: ${s}`);
      }
      // close() fails the test if colmena saw an off-protocol argv or two runs overlapped.
    });
  },
);
