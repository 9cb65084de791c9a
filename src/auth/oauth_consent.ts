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
  <title>Sign-in refused · despacito</title>
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
