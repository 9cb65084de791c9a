/**
 * What a child process (git, nix, colmena, ssh) may see of despacito's
 * environment: an allowlist, never despacito's own configuration or
 * secrets (DESPACITO_*, PG*: a database password once reached colmena this
 * way). The operator widens it by name with DESPACITO_EXEC_ENV. Reading the
 * names needs --allow-env for them: src/build/permissions.ts grants exactly
 * these.
 */

/** Exact names and `PREFIX*` patterns children inherit. */
export const CHILD_ENV_ALLOW = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "LC_*",
  "TZ",
  "TMPDIR",
  "NIX_*",
  "SSH_AUTH_SOCK",
  "XDG_*",
  "LOCALE_ARCHIVE",
  "TERM",
  "NO_COLOR",
  // git configuration by environment: the NixOS module sets safe.directory, hooksPath, fsmonitor.
  "GIT_CONFIG_*",
] as const;

/**
 * Under the production flags (`--allow-env=NAME,…`) the environment cannot
 * be listed, only read by name: these are the names a pattern stands for.
 */
const KNOWN: Record<string, string[]> = {
  "LC_*": [
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "LC_COLLATE",
    "LC_NUMERIC",
    "LC_TIME",
    "LC_MONETARY",
  ],
  "NIX_*": [
    "NIX_PATH",
    "NIX_REMOTE",
    "NIX_CONFIG",
    "NIX_CONF_DIR",
    "NIX_USER_CONF_FILES",
    "NIX_SSL_CERT_FILE",
    "NIX_SSHOPTS",
    "NIX_STATE_DIR",
    "NIX_STORE_DIR",
    "NIX_DAEMON_SOCKET_PATH",
  ],
  "GIT_CONFIG_*": [
    "GIT_CONFIG_COUNT",
    ...Array.from({ length: 10 }, (_, i) => [`GIT_CONFIG_KEY_${i}`, `GIT_CONFIG_VALUE_${i}`])
      .flat(),
  ],
  "XDG_*": [
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_CONFIG_DIRS",
    "XDG_DATA_DIRS",
  ],
};

/** Never passed on, even when DESPACITO_EXEC_ENV names them. */
const NEVER = [/^DESPACITO_/, /^PG/];

export function childEnvNames(extra: readonly string[] = []): string[] {
  return [...CHILD_ENV_ALLOW, ...extra.filter((n) => !NEVER.some((r) => r.test(n)))];
}

/**
 * The allowlisted part of this process's environment. Names this process
 * may not read (a narrower --allow-env) are left out rather than failing.
 */
export function childEnv(extra: readonly string[] = []): Record<string, string> {
  const names = childEnvNames(extra);
  let all: Record<string, string>;
  try {
    all = Deno.env.toObject();
  } catch {
    // Enumeration needs unrestricted --allow-env; fall back to the exact names.
    all = {};
    for (const n of names.flatMap((n) => KNOWN[n] ?? (n.endsWith("*") ? [] : [n]))) {
      try {
        const v = Deno.env.get(n);
        if (v !== undefined) all[n] = v;
      } catch { /* not permitted: not passed on */ }
    }
    return all;
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(all)) {
    if (NEVER.some((r) => r.test(k))) continue;
    if (names.some((n) => n.endsWith("*") ? k.startsWith(n.slice(0, -1)) : k === n)) out[k] = v;
  }
  return out;
}
