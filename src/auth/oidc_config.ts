/**
 * Turns the DESPACITO_OIDC_* options into one spec per provider: issuer,
 * button label, client id and secret (per-issuer `ISSUER=VALUE` entries
 * override the shared DESPACITO_OIDC_CLIENT_ID/SECRET) and the public
 * redirect URL. Reports every problem at once; no I/O.
 */

import type { Config } from "../config/config.ts";

export interface ProviderSpec {
  issuer: string;
  name: string;
  clientId: string;
  clientSecret?: string;
}

export interface OidcSettings {
  providers: ProviderSpec[];
  redirectUrl: string;
  allowHttp: boolean;
}

export class OidcConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid OIDC configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "OidcConfigError";
  }
}

/**
 * Issuers are compared exactly (discovery and the `iss` checks demand the
 * provider's own spelling, trailing slash included); only blanks go.
 */
export const normalizeIssuer = (u: string) => u.trim();

/**
 * Parses `ISSUER=VALUE` entries separated by newlines or by commas that
 * start a new `http(s)://` issuer, so values may contain "," and "=".
 */
export function parseIssuerMap(
  text: string | undefined,
  variable: string,
  problems: string[],
): Map<string, string> {
  const map = new Map<string, string>();
  if (!text) return map;
  const entries = text.split(/\r?\n|,(?=\s*https?:\/\/)/);
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === "") continue;
    const i = entry.indexOf("=");
    if (i <= 0 || i === entry.length - 1) {
      problems.push(`${variable}: entries must be ISSUER=VALUE`);
      continue;
    }
    map.set(normalizeIssuer(entry.slice(0, i)), entry.slice(i + 1).trim());
  }
  return map;
}

/** Undefined when no issuer is configured (OIDC sign-in off). */
export function oidcSettings(config: Readonly<Config>): OidcSettings | undefined {
  const issuers = (config.oidcIssuerUrls ?? []).map(normalizeIssuer);
  if (issuers.length === 0) return undefined;
  const problems: string[] = [];
  const ids = parseIssuerMap(config.oidcClientIds, "DESPACITO_OIDC_CLIENT_IDS", problems);
  const secrets = parseIssuerMap(
    config.oidcClientSecrets,
    "DESPACITO_OIDC_CLIENT_SECRETS",
    problems,
  );
  const names = parseIssuerMap(config.oidcProviderNames, "DESPACITO_OIDC_PROVIDER_NAMES", problems);
  for (
    const [variable, map] of [["CLIENT_IDS", ids], ["CLIENT_SECRETS", secrets], [
      "PROVIDER_NAMES",
      names,
    ]] as const
  ) {
    for (const issuer of map.keys()) {
      if (!issuers.includes(issuer)) {
        problems.push(`DESPACITO_OIDC_${variable}: ${issuer} is not in DESPACITO_OIDC_ISSUER_URLS`);
      }
    }
  }
  const providers: ProviderSpec[] = [];
  for (const issuer of new Set(issuers)) {
    const url = new URL(issuer);
    if (url.protocol === "http:" && !config.oidcAllowHttp) {
      problems.push(
        `${issuer}: plain-http issuers need DESPACITO_OIDC_ALLOW_HTTP=true (tests, development only)`,
      );
    }
    const clientId = ids.get(issuer) ?? config.oidcClientId;
    if (!clientId) {
      problems.push(`${issuer}: no client id (DESPACITO_OIDC_CLIENT_ID or _CLIENT_IDS)`);
      continue;
    }
    providers.push({
      issuer,
      name: names.get(issuer) ?? url.host,
      clientId,
      clientSecret: secrets.get(issuer) ?? config.oidcClientSecret,
    });
  }
  const redirectUrl = config.oidcRedirectUrl ??
    (config.baseUrl ? `${config.baseUrl}/auth/callback` : undefined);
  if (!redirectUrl) {
    problems.push("set DESPACITO_OIDC_REDIRECT_URL or DESPACITO_BASE_URL for the OIDC callback");
  }
  if (problems.length > 0) throw new OidcConfigError(problems);
  return { providers, redirectUrl: redirectUrl!, allowHttp: config.oidcAllowHttp };
}
