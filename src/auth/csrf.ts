/**
 * Cross-site request forgery checks for requests a browser authenticates
 * with a cookie. A state-changing request must carry JSON (a cross-site page
 * cannot send that without a CORS preflight we never answer) and prove it
 * comes from our own origin: Sec-Fetch-Site first, then Origin, compared
 * with DESPACITO_BASE_URL's origin. Bearer requests never come here.
 */

import { DomainError } from "../core/errors.ts";

export interface CsrfRequest {
  method: string;
  header(name: string): string | undefined;
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

export function isStateChanging(method: string): boolean {
  return !SAFE.has(method.toUpperCase());
}

/**
 * Throws 403 `csrf_failed` unless the request may change state.
 * `requireProof: false` (sign-in forms, where no cookie is involved yet)
 * accepts a request with neither header, e.g. from curl; a header that is
 * present must still say same-origin.
 */
export function checkCsrf(
  req: CsrfRequest,
  expectedOrigin: string,
  options: { requireProof?: boolean; form?: boolean } = {},
): void {
  if (!isStateChanging(req.method)) return;
  const type = (req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
  // `form`: an HTML form of our own (the CLI's consent page); only the origin proof counts there.
  if (!options.form && type !== "application/json") {
    throw refuse("Content-Type must be application/json");
  }
  const site = req.header("sec-fetch-site");
  if (site !== undefined) {
    if (site === "same-origin") return;
    throw refuse(`cross-origin request refused (Sec-Fetch-Site: ${site})`);
  }
  const origin = req.header("origin");
  if (origin !== undefined) {
    if (origin === expectedOrigin) return;
    throw refuse(`cross-origin request refused (Origin: ${origin})`);
  }
  if (options.requireProof ?? true) {
    throw refuse("a same-origin proof (Sec-Fetch-Site or Origin header) is required");
  }
}

function refuse(message: string) {
  return new DomainError("forbidden", "csrf_failed", message);
}
