/**
 * A real OpenID provider for tests: npm `oidc-provider` on a loopback port,
 * with one confidential test client, PKCE required and an interaction that
 * signs in whoever the test names (`setUser`) without a form. `browser()`
 * is a tiny cookie-keeping client that follows redirects by hand, so a test
 * can stop at, inspect or tamper with each hop of a login.
 */

import http from "node:http";
import type { AddressInfo } from "node:net";
// @ts-types="@types/oidc-provider"
import Provider from "oidc-provider";

export interface TestUser {
  sub: string;
  email?: string;
  name?: string;
  preferred_username?: string;
}

export interface TestProvider {
  issuer: string;
  port: number;
  clientId: string;
  clientSecret: string;
  /** Who the next interactions sign in. */
  setUser(user: TestUser): void;
  close(): Promise<void>;
}

export interface ProviderOptions {
  redirectUris: string[];
  /** Listen on this port (for "provider comes up later"); a free one otherwise. */
  port?: number;
  clientId?: string;
  clientSecret?: string;
}

/** A port nobody listens on right now. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function signingKey(): Promise<Record<string, unknown>> {
  const pair = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  return { ...jwk, use: "sig", alg: "RS256", kid: crypto.randomUUID() };
}

export async function startProvider(options: ProviderOptions): Promise<TestProvider> {
  const port = options.port ?? freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = options.clientId ?? "despacito-test";
  const clientSecret = options.clientSecret ?? crypto.randomUUID();
  let user: TestUser = { sub: "user-1", email: "user1@example.test", name: "User One" };

  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: options.redirectUris,
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
    }],
    pkce: { required: () => true },
    jwks: { keys: [await signingKey()] },
    cookies: { keys: [crypto.randomUUID()] },
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name", "preferred_username"],
    },
    features: { devInteractions: { enabled: false } },
    // Explicit lifetimes (seconds) keep oidc-provider from warning about its defaults.
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      Grant: 3600,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({
        sub: id,
        email: user.sub === id ? user.email : undefined,
        email_verified: true,
        name: user.sub === id ? user.name : undefined,
        preferred_username: user.sub === id ? user.preferred_username : undefined,
      }),
    }),
  });
  // oidc-provider logs every rejected request at error level; the tests cause many on purpose.
  provider.on("server_error", () => {});

  const callback = provider.callback();
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith("/interaction/")) {
      autoLogin(provider, req, res, () => user.sub).catch((e) => {
        res.statusCode = 500;
        res.end(String(e));
      });
      return;
    }
    callback(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    issuer,
    port: actual,
    clientId,
    clientSecret,
    setUser: (u) => (user = u),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The interaction endpoint: login as the current test user, grant what was asked. */
async function autoLogin(
  provider: Provider,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  currentSub: () => string,
) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === "login") {
    await provider.interactionFinished(req, res, { login: { accountId: currentSub() } }, {
      mergeWithLastSubmission: false,
    });
    return;
  }
  const accountId = details.session?.accountId ?? currentSub();
  const clientId = String(details.params.client_id);
  const grant = details.grantId
    ? (await provider.Grant.find(details.grantId))!
    : new provider.Grant({ accountId, clientId });
  grant.addOIDCScope(String(details.params.scope ?? "openid"));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, {
    mergeWithLastSubmission: true,
  });
}

/** A minimal browser: one cookie jar per origin, redirects followed by hand. */
export class Browser {
  #jar = new Map<string, Map<string, string>>();

  cookies(origin: string): Map<string, string> {
    let m = this.#jar.get(origin);
    if (!m) this.#jar.set(origin, m = new Map());
    return m;
  }

  /** One request, no redirect following; remembers Set-Cookie. */
  async request(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const u = new URL(url);
    const headers = new Headers(init.headers);
    const jar = this.cookies(u.origin);
    if (jar.size > 0) {
      headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    const res = await fetch(u, { ...init, headers, redirect: "manual" });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const i = pair.indexOf("=");
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) ||
        attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === "") jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  }

  /**
   * Follows redirects from `url` until one leaves for `stopAt` (returned
   * unfollowed) or a non-redirect answer arrives. `rewrite` may change a hop.
   */
  async follow(
    url: string | URL,
    options: { stopAt?: (u: URL) => boolean; rewrite?: (u: URL) => URL; maxHops?: number } = {},
  ): Promise<{ url: URL; response: Response }> {
    let current = new URL(url);
    for (let hop = 0; hop < (options.maxHops ?? 20); hop++) {
      if (options.rewrite) current = options.rewrite(current);
      const res = await this.request(current, { headers: { accept: "text/html" } });
      const location = res.headers.get("location");
      if (res.status < 300 || res.status >= 400 || !location) {
        return { url: current, response: res };
      }
      await res.body?.cancel();
      const next = new URL(location, current);
      if (options.stopAt?.(next)) return { url: next, response: res };
      current = next;
    }
    throw new Error(`too many redirects from ${url}`);
  }
}
