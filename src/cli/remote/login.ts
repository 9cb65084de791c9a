/**
 * `despacito login [URL]`: OAuth 2.1 authorization code + PKCE (S256) with
 * a loopback redirect (RFC 8252). Listens on an ephemeral port of
 * 127.0.0.1, prints the authorize URL for the operator to open (it starts
 * no browser: that would need permission to run programs), waits for the
 * browser to come back with the code and a matching state, exchanges it,
 * and stores the tokens (credentials.ts).
 */

import { EXIT } from "../args.ts";
import { err, out } from "../io.ts";
import { CliError, readCredentials, send, tokensFrom } from "./client.ts";
import { credentialsDir, saveCredentials } from "./credentials.ts";
import { printJson, runRemote } from "./run.ts";

export const CLIENT_ID = "despacito-cli";

const USAGE = "usage: despacito login [URL] [--timeout 5m] [--json]\n" +
  "  Signs in through your browser; URL defaults to DESPACITO_URL or the last server.";

export async function loginCommand(args: string[]): Promise<number> {
  return await runRemote(
    { usage: USAGE, options: { timeout: { type: "string" } }, positionals: { max: 1 } },
    args,
    async ({ positionals, values, json, config }) => {
      const server = normalise(positionals[0] ?? config.cliUrl ?? (await lastServer()));
      const timeoutMs = parseTimeout(values.timeout);
      const dir = credentialsDir();
      if (!dir) throw new CliError("neither XDG_CONFIG_HOME nor HOME is set", EXIT.usage);
      if (Deno.permissions.querySync({ name: "write", path: dir }).state !== "granted") {
        throw new CliError(
          `this despacito may not write ${dir} (its permissions are fixed for the server): ` +
            "sign in with `deno task cli login`, or use DESPACITO_URL and DESPACITO_TOKEN",
          EXIT.failed,
        );
      }
      const meta = await metadata(server);
      const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
      const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
      const challenge = b64url(
        new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
      );
      const callback = await listenForCallback(state, timeoutMs);
      try {
        const authorize = new URL(meta.authorizationPath, server + "/");
        authorize.search = new URLSearchParams({
          response_type: "code",
          client_id: CLIENT_ID,
          redirect_uri: callback.redirectUri,
          state,
          code_challenge: challenge,
          code_challenge_method: "S256",
        }).toString();
        err(`Open this address in a browser to sign in to ${server}:\n\n  ${authorize.href}\n`);
        err("Waiting for the browser…");
        const code = await callback.code;
        const tokenEndpoint = new URL(meta.tokenPath, server + "/").href;
        const res = await send(
          tokenEndpoint,
          {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({
              grant_type: "authorization_code",
              code,
              redirect_uri: callback.redirectUri,
              code_verifier: verifier,
              client_id: CLIENT_ID,
            }),
          },
          server,
          30_000,
        );
        const body = await res.json().catch(() => ({}));
        if (!res.ok) {
          throw new CliError(
            `sign-in refused: ${body.error_description ?? body.error ?? res.status}`,
            EXIT.auth,
          );
        }
        await saveCredentials(dir, {
          server,
          ...tokensFrom(body),
          client_id: CLIENT_ID,
          token_endpoint: tokenEndpoint,
          revocation_endpoint: new URL(meta.revocationPath, server + "/").href,
        });
        const me = await whoAmI(server, body.access_token);
        if (json) printJson({ server, user: me });
        else out(`Signed in to ${server} as ${me.username ?? me.email ?? me.id}.`);
        return EXIT.ok;
      } finally {
        await callback.close();
      }
    },
  );
}

function normalise(url: string | undefined): string {
  if (!url) {
    throw new CliError("which server? `despacito login https://despacito.example.com`", EXIT.usage);
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CliError(`not a URL: ${url}`, EXIT.usage);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") {
    throw new CliError(`not an http(s) URL: ${url}`, EXIT.usage);
  }
  return (u.origin + u.pathname).replace(/\/+$/, "");
}

function parseTimeout(text: string | undefined): number {
  if (text === undefined) return 5 * 60_000;
  const m = /^(\d{1,4})(s|m)$/.exec(text);
  if (!m) throw new CliError("--timeout must look like 90s or 5m", EXIT.usage);
  return Number(m[1]) * (m[2] === "s" ? 1000 : 60_000);
}

async function lastServer(): Promise<string | undefined> {
  const dir = credentialsDir();
  if (!dir) return undefined;
  return (await readCredentials(dir).catch(() => undefined))?.server;
}

/** The endpoints (RFC 8414), as paths on the server the operator named. */
async function metadata(server: string) {
  const res = await send(`${server}/.well-known/oauth-authorization-server`, {}, server, 30_000);
  const m = await res.json().catch(() => undefined);
  if (!res.ok || !m?.code_challenge_methods_supported?.includes("S256")) {
    throw new CliError(`${server} does not offer CLI sign-in (no OAuth metadata)`, EXIT.failed);
  }
  const path = (u: string) => new URL(u).pathname;
  return {
    authorizationPath: path(m.authorization_endpoint),
    tokenPath: path(m.token_endpoint),
    revocationPath: path(m.revocation_endpoint),
  };
}

async function whoAmI(server: string, token: string) {
  const res = await send(
    `${server}/api/me`,
    {
      headers: { authorization: `Bearer ${token}` },
    },
    server,
    30_000,
  );
  const body = await res.json().catch(() => ({}));
  return (body.user ?? {}) as { id?: string; username?: string; email?: string };
}

/** The loopback listener: resolves `code` once the browser returns with our state. */
async function listenForCallback(state: string, timeoutMs: number) {
  const got = Promise.withResolvers<string>();
  const page = (title: string, text: string, status: number) =>
    new Response(
      `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><p>${text}</p>`,
      {
        status,
        headers: {
          "content-type": "text/html; charset=utf-8",
          "content-security-policy": "default-src 'none'",
        },
      },
    );
  const ready = Promise.withResolvers<number>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => ready.resolve(port),
  }, (req) => {
    const u = new URL(req.url);
    if (u.pathname !== "/callback") return new Response("not found", { status: 404 });
    // Another page cannot end the wait: only an answer carrying our state counts.
    if (u.searchParams.get("state") !== state) {
      return page("Wrong sign-in", "This answer belongs to another sign-in.", 400);
    }
    const error = u.searchParams.get("error");
    if (error) {
      got.reject(
        new CliError(
          `sign-in refused: ${u.searchParams.get("error_description") ?? error}`,
          EXIT.auth,
        ),
      );
      return page("Sign-in refused", "You can close this tab.", 200);
    }
    const code = u.searchParams.get("code");
    if (!code) return page("Wrong sign-in", "The answer has no code.", 400);
    got.resolve(code);
    return page("Signed in", "The command line is signed in. You can close this tab.", 200);
  });
  const port = await ready.promise;
  const timer = setTimeout(
    () => got.reject(new CliError("no answer from the browser in time", EXIT.auth)),
    timeoutMs,
  );
  return {
    redirectUri: `http://127.0.0.1:${port}/callback`,
    code: got.promise,
    close: async () => {
      clearTimeout(timer);
      await server.shutdown();
    },
  };
}

function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}
