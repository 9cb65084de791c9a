/**
 * Checks an authorization request (GET or the consent form's POST) for the
 * CLI's OAuth server. Two kinds of refusal, as RFC 6749 §4.1.2.1 says: a
 * bad client or redirect URI is shown to the user and never redirected to
 * (it could be anyone's); everything else goes back to the (checked)
 * redirect URI as `error=…&state=…`. Only loopback redirect URIs (RFC 8252
 * §7.3), only PKCE S256 (OAuth 2.1). Knows no HTTP.
 */

export interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  state: string;
  codeChallenge: string;
}

export type AuthorizeCheck =
  | { ok: true; request: AuthorizeRequest }
  /** Shown on a page: the redirect URI cannot be trusted. */
  | { ok: false; show: true; message: string }
  /** Sent back to the client at its redirect URI. */
  | { ok: false; show: false; redirectUri: string; state?: string; error: string; message: string };

export const PARAMS = [
  "response_type",
  "client_id",
  "redirect_uri",
  "state",
  "code_challenge",
  "code_challenge_method",
  "scope",
] as const;

const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const STATE = /^[\x21-\x7e]{1,500}$/;

/** http://127.0.0.1:<port>/… or http://[::1]:<port>/…, nothing else; the problem or undefined. */
export function loopbackProblem(uri: string): string | undefined {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return "redirect_uri is not a URL";
  }
  if (u.protocol !== "http:") return "redirect_uri must use http on a loopback address";
  if (u.hostname !== "127.0.0.1" && u.hostname !== "[::1]") {
    return "redirect_uri must be http://127.0.0.1:PORT/… or http://[::1]:PORT/… (a loopback address)";
  }
  if (u.port === "") return "redirect_uri must name a port";
  if (u.username || u.password || u.hash) {
    return "redirect_uri must not carry credentials or a fragment";
  }
  if (uri.length > 500) return "redirect_uri is too long";
  return undefined;
}

/** `known(clientId)` says whether the client is registered. */
export function checkAuthorizeRequest(
  params: URLSearchParams,
  known: (clientId: string) => boolean,
): AuthorizeCheck {
  // deno-lint-ignore no-control-regex
  if ([...params.values()].some((v) => /[\x00-\x1f\x7f]/.test(v))) {
    return { ok: false, show: true, message: "control characters in the request" };
  }
  const one = (k: string) => {
    const all = params.getAll(k);
    return all.length === 1 ? all[0] : undefined;
  };
  const clientId = one("client_id");
  if (!clientId || !known(clientId)) {
    return { ok: false, show: true, message: "unknown or missing client_id" };
  }
  const redirectUri = one("redirect_uri");
  if (!redirectUri) return { ok: false, show: true, message: "redirect_uri is required" };
  const problem = loopbackProblem(redirectUri);
  if (problem) return { ok: false, show: true, message: problem };

  const rawState = one("state");
  const state = rawState && STATE.test(rawState) ? rawState : undefined;
  const back = (error: string, message: string): AuthorizeCheck => ({
    ok: false,
    show: false,
    redirectUri,
    state,
    error,
    message,
  });
  for (const k of PARAMS) {
    if (params.getAll(k).length > 1) return back("invalid_request", `${k} given more than once`);
  }
  if (one("response_type") !== "code") {
    return back("unsupported_response_type", "response_type must be code");
  }
  if (!state) return back("invalid_request", "state is required (printable ASCII, ≤ 500)");
  if (one("code_challenge_method") !== "S256") {
    return back("invalid_request", "PKCE is required: code_challenge_method must be S256");
  }
  const codeChallenge = one("code_challenge");
  if (!codeChallenge || !CHALLENGE.test(codeChallenge)) {
    return back("invalid_request", "code_challenge must be a base64url SHA-256 (43 characters)");
  }
  return { ok: true, request: { clientId, redirectUri, state, codeChallenge } };
}

/** The redirect back to the client: `code` or `error`, always with `state`. */
export function redirectBack(
  redirectUri: string,
  params: Record<string, string | undefined>,
): string {
  const u = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  return u.href;
}
