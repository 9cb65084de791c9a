/**
 * The forge tests' world, as shipped: despacito a subprocess under the
 * production permission flags (deploy_env.ts: real PostgreSQL, the fixture
 * flakes with real git and nix, the fake colmena), the fake Forgejo it
 * talks to, and a loopback front standing in for Caddy, so
 * DESPACITO_BASE_URL (the hook URL the forge is given) is known before the
 * server's port is. What the forge asked of the deploy area is read where
 * an operator would see it: the deployments API, the fake forge's recorded
 * requests, the database rows where there is no API.
 */

import assert from "node:assert/strict";
import { type FakeForgejo, type Flavor, startFakeForgejo } from "./fake_forgejo.ts";
import { createDeployEnv, type DeployEnv } from "./deploy_env.ts";
import { git } from "./flakes.ts";
import { waitFor } from "./server.ts";

// deno-lint-ignore no-explicit-any
export type Json = any;

export interface ForgeWorld {
  env: DeployEnv;
  forge: FakeForgejo;
  /** DESPACITO_BASE_URL: the front the forge delivers to. */
  base: string;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }>;
  /**
   * POST /api/repositories: acme/<pkg> on the fake forge for package <pkg>, with the
   * fixture repo as source_url; `extra` overrides or adds fields (undefined drops one).
   */
  connect(
    pkg: "webapp" | "api",
    token: string,
    trigger: string,
    extra?: Record<string, unknown>,
  ): Promise<{ status: number; json: Json }>;
  /** POSTs to /webhook/forgejo/:id (through the front, as the forge does). */
  post(id: string, body: BodyInit, headers: HeadersInit): Promise<Response>;
  /**
   * Rewrites how flake.lock declares `pkg` (its `original`) and commits it, as an
   * operator changing flake.nix would; `undefined` removes the input altogether.
   */
  declare(pkg: string, original: Record<string, unknown> | undefined): Promise<void>;
  /** Deployments of `pkg` (every package when omitted), oldest first, from the API. */
  deployments(pkg?: string): Promise<Json[]>;
  /** Polls the status-posts API until `n` posts of the deployment are settled. */
  settled(deploymentId: string, n: number): Promise<Json[]>;
  /** Every JSON log line of the server(s) so far, parsed. */
  logs(): Record<string, unknown>[];
  /** Everything the server(s) wrote so far: stdout lines and the running one's stderr. */
  output(): string;
}

export interface WorldOptions {
  flavor?: Flavor;
  /** Extra server environment (DESPACITO_*). */
  env?: Record<string, string>;
}

/** A fresh world for `fn`; everything is stopped afterwards, and the forge must have seen only on-protocol requests. */
export async function withForgeWorld(
  options: WorldOptions,
  fn: (w: ForgeWorld) => Promise<void>,
): Promise<void> {
  let env: DeployEnv | undefined;
  // Forwards to whichever server runs now (a test may restart it).
  const front = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const u = new URL(req.url);
    return await fetch((env?.url ?? "") + u.pathname + u.search, {
      method: req.method,
      headers: req.headers,
      body: req.body,
    });
  });
  const base = `http://127.0.0.1:${front.addr.port}`;
  const forge = await startFakeForgejo(options.flavor);
  try {
    env = await createDeployEnv({
      start: false,
      extraEnv: {
        DESPACITO_BASE_URL: base,
        DESPACITO_FORGE_STATUS_BACKOFF: "50ms",
        DESPACITO_FORGE_TIMEOUT: "5s",
        ...options.env,
      },
    });
    await env.startServer();
    const denv = env;
    const api: ForgeWorld["api"] = async (method, path, body) => {
      const res = await denv.fetch(path, {
        method,
        headers: body === undefined ? {} : { "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    };
    const w: ForgeWorld = {
      env: denv,
      forge,
      base,
      api,
      connect: (pkg, token, trigger, extra = {}) =>
        api("POST", "/api/repositories", {
          forge_url: forge.url,
          owner: "acme",
          repo: pkg,
          package: pkg,
          token,
          trigger,
          source_url: denv[pkg].url,
          ...extra,
        }),
      post: (id, body, headers) =>
        fetch(`${base}/webhook/forgejo/${id}`, { method: "POST", body, headers }),
      async declare(pkg, original) {
        // flake.nix and flake.lock agree, or nix would re-lock from flake.nix.
        const nixPath = `${denv.flake.dir}/flake.nix`;
        const line = new RegExp(`^  inputs\\.${pkg}\\.url = "[^"]*";\\n`, "m");
        const nix = await Deno.readTextFile(nixPath);
        const declared = original ? `  inputs.${pkg}.url = "${flakeUrl(original)}";\n` : "";
        // An input removed earlier comes back at the top.
        await Deno.writeTextFile(
          nixPath,
          line.test(nix) ? nix.replace(line, declared) : nix.replace(/^\{\n/, `{\n${declared}`),
        );
        const lockPath = `${denv.flake.dir}/flake.lock`;
        const lock = JSON.parse(await Deno.readTextFile(lockPath));
        const root = lock.nodes[lock.root];
        if (original === undefined) delete root.inputs[pkg];
        else {
          root.inputs[pkg] = pkg;
          lock.nodes[pkg].original = original;
        }
        await Deno.writeTextFile(lockPath, JSON.stringify(lock, null, 2) + "\n");
        await git(denv.flake.dir, "commit", "-q", "-am", `declare ${pkg}`);
      },
      async deployments(pkg) {
        const q = pkg ? `?package=${pkg}&limit=200` : "?limit=200";
        const r = await api("GET", `/api/deployments${q}`);
        assert.equal(r.status, 200, JSON.stringify(r.json));
        return [...r.json.deployments].reverse();
      },
      async settled(id, n) {
        let last: Json[] = [];
        return await waitFor(
          `${n} settled status posts of ${id}`,
          async () => {
            const r = await api("GET", `/api/forge/status-posts?deployment_id=${id}`);
            last = r.json.status_posts;
            return r.status === 200 && last.length === n &&
                last.every((p: { ok: boolean | null }) => p.ok !== null)
              ? last
              : undefined;
          },
          30_000,
          25,
        ).catch((e) => {
          throw new Error(`status posts of ${id}: ${JSON.stringify(last)}`, { cause: e });
        });
      },
      logs: () => denv.logs.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)),
      output: () => [...denv.logs, denv.server?.stderr() ?? ""].join("\n"),
    };
    await fn(w);
    assert.deepEqual(forge.rejections, [], "the fake Forgejo saw only on-protocol requests");
  } finally {
    await env?.close();
    await forge.close();
    await front.shutdown();
  }
}

/** The flake URL of a lock file's `original` (the forms the tests declare). */
function flakeUrl(o: Record<string, unknown>): string {
  if (o.type === "git") return `git+${o.url}${o.ref ? `?ref=${o.ref}` : ""}`;
  if (o.type === "github") return `github:${o.owner}/${o.repo}`;
  throw new Error(`declare: no flake URL for ${JSON.stringify(o)}`);
}

/** The forge's API calls other than commit statuses (those follow every deployment). */
export const apiCalls = (forge: FakeForgejo) =>
  forge.calls.filter((c) => !c.path.includes("/statuses/"));

/** Makes the fixture app repo carry `tag` on `sha` (nix fetches refs/tags/<tag> from it). */
export async function tagFixture(dir: string, tag: string, sha: string): Promise<void> {
  await git(dir, "tag", "-f", tag, sha);
}
