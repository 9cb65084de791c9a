/** Who is asking: a bearer token or a signed-in user. */

export interface TokenPrincipal {
  kind: "token";
  token: {
    id: string;
    description: string;
    /** Packages this token may deploy; null means any. */
    packages: string[] | null;
  };
}

export interface SessionPrincipal {
  kind: "session";
  user: {
    id: string;
    issuer: string;
    subject: string;
    username: string | null;
    email: string | null;
    displayName: string | null;
  };
  session: { id: string };
}

export type Principal = TokenPrincipal | SessionPrincipal;

/** A short label for logs and "triggered by" fields. */
export function describePrincipal(p: Principal): string {
  return p.kind === "token"
    ? `token ${p.token.description}`
    : `user ${p.user.username ?? p.user.email ?? p.user.subject}`;
}
