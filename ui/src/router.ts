/**
 * Client-side routing over the History API: the current location is a
 * signal, links navigate without reloading, Back/Forward work. The server
 * answers every client path with index.html (the SPA fallback).
 */

import { signal } from "@preact/signals";

export interface Place {
  path: string;
  query: URLSearchParams;
}

function read(): Place {
  return { path: globalThis.location.pathname, query: new URLSearchParams(location.search) };
}

export const place = signal<Place>({ path: "/", query: new URLSearchParams() });

/** Starts following Back/Forward; call once at startup. */
export function startRouter(): void {
  place.value = read();
  addEventListener("popstate", () => (place.value = read()));
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  place.value = read();
  if (!options.replace) scrollTo(0, 0);
}

/** Where the user is now (path + query), to come back to after signing in. */
export function here(): string {
  return location.pathname + location.search;
}

/** Only same-origin relative paths: "/x" yes; "//evil", "/\\evil", "https://…" no. */
export function safeReturnTo(value: string | null | undefined): string {
  if (!value || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) {
    return "/";
  }
  return value;
}

export function signInPath(returnTo: string): string {
  const back = safeReturnTo(returnTo);
  return back === "/" || back.startsWith("/signin")
    ? "/signin"
    : `/signin?return_to=${encodeURIComponent(back)}`;
}

/** Builds "/path?k=v" from the non-empty entries. */
export function withQuery(path: string, params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
