/**
 * The consent page of the CLI's sign-in, rendered on the server: it names
 * the client, the signed-in user and where the answer goes (the loopback
 * address the CLI listens on), and posts the decision back to
 * /oauth/authorize. Every value is HTML-escaped; the page carries no script
 * and no inline style, under a CSP that lets its form reach only despacito
 * and, via the redirect that answers it, the CLI's loopback address.
 */

import type { AuthorizeRequest } from "./oauth_request.ts";

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The pages' only style, served at CONSENT_CSS_PATH (the CSP allows no inline style). */
export const CONSENT_CSS_PATH = "/oauth/consent.css";
export const CONSENT_CSS = `:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center;
  background: #f6f6f4; color: #1f2328; }
main { max-width: 34rem; margin: 1rem; padding: 1.5rem 2rem; background: #fff;
  border: 1px solid #d8dad3; border-radius: 8px; line-height: 1.5; }
h1 { font-size: 1.4rem; margin-top: 0; }
code { font-size: 0.95em; background: #eef0ea; padding: 0 0.25em; border-radius: 3px; }
form { display: flex; gap: 0.75rem; margin-top: 1.5rem; }
button { font: inherit; padding: 0.45rem 1.2rem; border-radius: 6px; cursor: pointer;
  border: 1px solid #b9bcb4; background: #fff; color: inherit; }
button[value=allow] { background: #1f6f55; border-color: #1f6f55; color: #fff; }
button:focus-visible { outline: 3px solid #4f8cc9; outline-offset: 2px; }
@media (prefers-color-scheme: dark) {
  body { background: #17191c; color: #e6e6e3; }
  main { background: #202328; border-color: #3a3e45; }
  code { background: #2c3036; }
  button { background: #2a2e34; border-color: #4a4f57; }
}
`;

export function consentCsp(redirectUri: string): string {
  return [
    "default-src 'none'",
    "style-src 'self'",
    `form-action 'self' ${new URL(redirectUri).origin}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
}

export function consentPage(
  r: AuthorizeRequest,
  who: { clientName: string; user: string },
): string {
  const hidden = Object.entries({
    response_type: "code",
    client_id: r.clientId,
    redirect_uri: r.redirectUri,
    state: r.state,
    code_challenge: r.codeChallenge,
    code_challenge_method: "S256",
  }).map(([k, v]) => `<input type="hidden" name="${k}" value="${esc(v)}">`).join("\n      ");
  const host = new URL(r.redirectUri).host;
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <title>Sign in the command line · despacito</title>
  <link rel="stylesheet" href="${CONSENT_CSS_PATH}">
</head>
<body>
  <main>
    <h1>Sign in ${esc(who.clientName)}?</h1>
    <p>You are signed in to despacito as <strong>${esc(who.user)}</strong>.</p>
    <p><strong>${esc(who.clientName)}</strong> (client <code>${
    esc(r.clientId)
  }</code>) asks to act as you:
      it may do everything you can do in despacito until you sign it out.</p>
    <p>The answer goes to <code>${esc(host)}</code> on this computer. Continue only if you just ran
      <code>despacito login</code> here.</p>
    <form method="post" action="/oauth/authorize">
      ${hidden}
      <button type="submit" name="decision" value="allow">Allow</button>
      <button type="submit" name="decision" value="deny">Deny</button>
    </form>
  </main>
</body>
</html>
`;
}

/** A refusal that cannot go back to the client (bad client or redirect URI). */
export function errorPage(message: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign-in refused · despacito</title>
  <link rel="stylesheet" href="${CONSENT_CSS_PATH}">
</head>
<body>
  <main>
    <h1>This sign-in request was refused</h1>
    <p role="alert">${esc(message)}</p>
  </main>
</body>
</html>
`;
}
