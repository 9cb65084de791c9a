/**
 * What the sign-in screen says when /auth/login or /auth/callback sent the
 * browser back with `?error=`. Pure (no Preact), so it is unit-tested
 * without pulling the DOM types into the server's type-check.
 */

import { formatWait } from "./time.ts";

/**
 * Wording for the codes /auth/login and /auth/callback send back in
 * `?error=`. Codes not listed show the server's message, which is specific
 * (it names the provider that is down, or what the provider refused).
 */
const PROVIDER_ERRORS: Record<string, string> = {
  login_not_started: "That sign-in attempt expired or was already used. Start again.",
  login_expired: "That sign-in attempt took too long. Start again.",
  state_mismatch: "That sign-in attempt expired or was already used. Start again.",
  issuer_mismatch: "The answer came from a different provider than the one you chose. Start again.",
  oidc_rejected: "The provider's answer could not be verified. Start again; if it keeps " +
    "happening, tell despacito's operator.",
  account_disabled: "Your account is disabled. Ask despacito's operator.",
};

/** The message for `?error=<code>&message=<text>&retry_after=<s>`, shown on the page as text. */
export function providerError(q: URLSearchParams): string {
  const code = q.get("error") ?? "";
  const wait = Number(q.get("retry_after"));
  if (code === "rate_limited" && wait > 0) {
    return `Too many sign-in attempts from here. Try again in ${formatWait(wait)}.`;
  }
  const text = PROVIDER_ERRORS[code] ?? q.get("message") ?? code;
  // Server messages are lower-case clauses ("… cannot be reached right now; try again later").
  const sentence = `${text.charAt(0).toUpperCase()}${text.slice(1)}${
    /[.!?]$/.test(text) ? "" : "."
  }`;
  return `Sign-in failed: ${sentence}`;
}
