/** Who is signed in (a signal) and signing out. */

import { signal } from "@preact/signals";
import { api } from "./api.ts";
import { navigate } from "./router.ts";
import type { Me } from "./types.ts";

/** undefined: not known yet; null: nobody (on the sign-in screen). */
export const me = signal<Me | null | undefined>(undefined);

export async function loadMe(): Promise<void> {
  try {
    me.value = await api.me();
  } catch {
    me.value = null; // a 401 already went to sign-in
  }
}

export function displayName(m: Me): string {
  if (m.kind === "token") return `token: ${m.token.description}`;
  const u = m.user;
  return u.display_name || u.username || u.email || u.id;
}

export async function signOut(): Promise<void> {
  try {
    await api.logout();
  } finally {
    me.value = null;
    navigate("/signin", { replace: true });
  }
}
