/**
 * The two cookies sign-in sets: the session and the OIDC transaction
 * binding. Both HttpOnly, SameSite=Lax (the provider's redirect back is a
 * top-level GET from another site), Path=/, and with
 * DESPACITO_SESSION_COOKIE_SECURE Secure with the `__Host-` prefix; without
 * it (local http) the prefix is dropped, as browsers would refuse it.
 */

import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppContext } from "../http/types.ts";

export interface CookieJar {
  readonly sessionName: string;
  readonly transactionName: string;
  getSession(c: AppContext): string | undefined;
  setSession(c: AppContext, value: string, maxAgeMs: number): void;
  clearSession(c: AppContext): void;
  getTransaction(c: AppContext): string | undefined;
  setTransaction(c: AppContext, value: string, maxAgeMs: number): void;
  clearTransaction(c: AppContext): void;
}

export function cookieJar(secure: boolean): CookieJar {
  const name = (base: string) => (secure ? `__Host-${base}` : base);
  const sessionName = name("despacito_session");
  const transactionName = name("despacito_oidc");
  const attrs = { httpOnly: true, secure, sameSite: "Lax" as const, path: "/" };
  const set = (c: AppContext, n: string, value: string, maxAgeMs: number) =>
    setCookie(c, n, value, { ...attrs, maxAge: Math.floor(maxAgeMs / 1000) });
  return {
    sessionName,
    transactionName,
    getSession: (c) => getCookie(c, sessionName),
    setSession: (c, v, ms) => set(c, sessionName, v, ms),
    clearSession: (c) => void deleteCookie(c, sessionName, attrs),
    getTransaction: (c) => getCookie(c, transactionName),
    setTransaction: (c, v, ms) => set(c, transactionName, v, ms),
    clearTransaction: (c) => void deleteCookie(c, transactionName, attrs),
  };
}
