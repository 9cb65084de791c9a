/**
 * The one declarative table of every DESPACITO_* variable. Everything that
 * reads configuration reads it through this table: the loader, `--help`,
 * `help config`, README's configuration section (checked by a test) and the
 * permission flags. Adding an option means adding a row here, nothing else.
 */

import type { Config } from "./config.ts";
import { DEFAULT_FLAKE_REF_SCHEMES, FLAKE_REF_SCHEMES } from "./flake_ref_schemes.ts";
import { trustedProxyProblem } from "./trusted_proxies.ts";

export type OptionType =
  | "string"
  | "boolean"
  | "integer"
  | "duration"
  | "filemode"
  | "url"
  | "address"
  | "list"
  | "path"
  | "enum";

export interface OptionSpec {
  /** Environment variable name. */
  env: string;
  /** Key in the frozen Config object. */
  key: keyof Config;
  type: OptionType;
  /** Default as the operator would write it; undefined means unset. */
  default?: string;
  /** Secrets may come from `<env>_FILE` and are never printed or logged. */
  secret?: boolean;
  /** For type "enum". */
  values?: readonly string[];
  description: string;
  /** Extra check on the parsed value; returns a problem message or undefined. */
  validate?: (value: unknown) => string | undefined;
}

const positive = (
  v: unknown,
) => (typeof v === "number" && v > 0 ? undefined : "must be greater than zero");

const ROWS = [
  {
    env: "DESPACITO_LISTEN",
    key: "listen",
    type: "address",
    default: ":8080",
    description:
      "TCP address to listen on, `host:port` or `:port` (ignored when DESPACITO_LISTEN_SOCKET is set).",
  },
  {
    env: "DESPACITO_LISTEN_SOCKET",
    key: "listenSocket",
    type: "path",
    description: "Unix domain socket path; takes precedence over DESPACITO_LISTEN.",
  },
  {
    env: "DESPACITO_LISTEN_SOCKET_MODE",
    key: "listenSocketMode",
    type: "filemode",
    default: "0660",
    description: "File mode (octal) given to the Unix socket.",
  },
  {
    env: "DESPACITO_BASE_URL",
    key: "baseUrl",
    type: "url",
    description:
      "Public base URL (e.g. https://despacito.example.com): links in commit statuses, OIDC redirects, CSRF origin.",
  },
  {
    env: "DESPACITO_DATA_DIR",
    key: "dataDir",
    type: "path",
    default: "./data",
    description: "State directory: embedded database, server key. NixOS: /var/lib/despacito.",
  },
  {
    env: "DESPACITO_FLAKE_DIR",
    key: "flakeDir",
    type: "path",
    description: "Git work tree of the deployment flake. Unset: deployments answer 503.",
  },
  {
    env: "DESPACITO_CONFIG",
    key: "configFile",
    type: "path",
    description:
      "YAML (or JSON) file with per-package deployment settings (on, goal, extra_args, timeout) and notification targets.",
  },
  {
    env: "DESPACITO_COLMENA_BIN",
    key: "colmenaBin",
    type: "string",
    default: "colmena",
    description: "The colmena executable (name on PATH or absolute path).",
  },
  {
    env: "DESPACITO_NIX_BIN",
    key: "nixBin",
    type: "string",
    default: "nix",
    description: "The nix executable (name on PATH or absolute path).",
  },
  {
    env: "DESPACITO_GIT_BIN",
    key: "gitBin",
    type: "string",
    default: "git",
    description: "The git executable (name on PATH or absolute path).",
  },
  {
    env: "DESPACITO_LOG_LEVEL",
    key: "logLevel",
    type: "enum",
    values: ["debug", "info", "warn", "error"],
    default: "info",
    description: "Lowest level written to the JSON log on stdout.",
  },
  {
    env: "DESPACITO_POSTGRES_CONNECTION_URI",
    key: "postgresUri",
    type: "string",
    secret: true,
    description: "PostgreSQL connection URI. Unset: embedded PGlite under DESPACITO_DATA_DIR.",
    validate: (v) =>
      typeof v === "string" && !/^postgres(ql)?:\/\//.test(v)
        ? "must start with postgres:// or postgresql://"
        : undefined,
  },
  {
    env: "DESPACITO_POSTGRES_POOL_SIZE",
    key: "postgresPoolSize",
    type: "integer",
    default: "10",
    description:
      "Connections in the pool to real Postgres (the embedded database always uses one).",
    validate: positive,
  },
  {
    env: "DESPACITO_SESSION_COOKIE_SECURE",
    key: "sessionCookieSecure",
    type: "boolean",
    default: "true",
    description:
      "Mark session cookies Secure and use the __Host- prefix. Set false only for local http.",
  },
  {
    env: "DESPACITO_SHUTDOWN_TIMEOUT",
    key: "shutdownTimeoutMs",
    type: "duration",
    default: "30s",
    description:
      "On SIGTERM/SIGINT, how long in-flight requests and the running deployment may take to finish.",
  },
  {
    env: "DESPACITO_TOKEN_BOOTSTRAP",
    key: "tokenBootstrap",
    type: "boolean",
    default: "true",
    description:
      "While no token exists, POST /api/tokens needs no credentials. `despacito token create` works either way.",
  },
  {
    env: "DESPACITO_MAX_BODY_BYTES",
    key: "maxBodyBytes",
    type: "integer",
    default: "1048576",
    description: "Largest accepted request body; larger requests get 413.",
    validate: positive,
  },
  {
    env: "DESPACITO_BODY_TIMEOUT",
    key: "bodyTimeoutMs",
    type: "duration",
    default: "30s",
    description:
      "How long a client may take to send a request body once it started; slower ones get 408.",
    validate: positive,
  },
  {
    env: "DESPACITO_HEADER_TIMEOUT",
    key: "headerTimeoutMs",
    type: "duration",
    default: "10s",
    description:
      "How long a client may take to send a request's headers (from connecting, or from the first byte after an idle keep-alive); slower ones get 408 and are disconnected.",
    validate: positive,
  },
  {
    env: "DESPACITO_IDLE_TIMEOUT",
    key: "idleTimeoutMs",
    type: "duration",
    default: "5m",
    description:
      "A keep-alive connection with no request in flight is closed after this long (longer than Caddy's 2 min upstream keep-alive, so Caddy closes first). Long-polls and SSE streams are requests in flight: never cut.",
    validate: positive,
  },
  {
    env: "DESPACITO_MAX_CONNECTIONS",
    key: "maxConnections",
    type: "integer",
    default: "1024",
    description:
      "Most client connections open at once; beyond it a new connection gets 503 `too_many_connections` and is closed.",
    validate: positive,
  },
  // --- sign-in (src/auth): OIDC, local accounts, sessions, abuse limits ---
  {
    env: "DESPACITO_OIDC_ISSUER_URLS",
    key: "oidcIssuerUrls",
    type: "list",
    description:
      "Comma-separated OIDC issuer URLs; each becomes a sign-in button. Unset: no OIDC sign-in.",
    validate: (v) => {
      const bad = (v as string[]).filter((u) => !/^https?:\/\/[^\s,]+$/.test(u));
      return bad.length > 0 ? `not http(s) URLs: ${bad.join(", ")}` : undefined;
    },
  },
  {
    env: "DESPACITO_OIDC_CLIENT_ID",
    key: "oidcClientId",
    type: "string",
    description: "OAuth2 client id registered at the issuers (default for every issuer).",
  },
  {
    env: "DESPACITO_OIDC_CLIENT_SECRET",
    key: "oidcClientSecret",
    type: "string",
    secret: true,
    description: "OAuth2 client secret (default for every issuer).",
  },
  {
    env: "DESPACITO_OIDC_CLIENT_IDS",
    key: "oidcClientIds",
    type: "string",
    description:
      "Per-issuer client ids overriding DESPACITO_OIDC_CLIENT_ID: `ISSUER=ID` entries separated by commas.",
  },
  {
    env: "DESPACITO_OIDC_CLIENT_SECRETS",
    key: "oidcClientSecrets",
    type: "string",
    secret: true,
    description:
      "Per-issuer client secrets overriding DESPACITO_OIDC_CLIENT_SECRET: `ISSUER=SECRET` entries separated by commas or newlines.",
  },
  {
    env: "DESPACITO_OIDC_PROVIDER_NAMES",
    key: "oidcProviderNames",
    type: "string",
    description:
      "Sign-in button labels: `ISSUER=Name` entries separated by commas (default: the issuer's host).",
  },
  {
    env: "DESPACITO_OIDC_REDIRECT_URL",
    key: "oidcRedirectUrl",
    type: "url",
    description:
      "The public callback URL registered at the issuers. Default: DESPACITO_BASE_URL + /auth/callback.",
  },
  {
    env: "DESPACITO_OIDC_ALLOW_HTTP",
    key: "oidcAllowHttp",
    type: "boolean",
    default: "false",
    description: "Accept plain-http issuers. Tests and local development only.",
  },
  {
    env: "DESPACITO_LOCAL_AUTH",
    key: "localAuth",
    type: "boolean",
    default: "true",
    description:
      "Allow sign-in with local accounts (`despacito user add`). False: POST /auth/local/login answers 404.",
  },
  {
    env: "DESPACITO_ADMIN_PASSWORD_FILE",
    key: "adminPasswordFile",
    type: "path",
    description:
      "File holding the password of a local `admin` account created at start while no local account exists.",
  },
  {
    env: "DESPACITO_SESSION_IDLE_TIMEOUT",
    key: "sessionIdleTimeoutMs",
    type: "duration",
    default: "8h",
    description: "A session unused for this long ends.",
    validate: positive,
  },
  {
    env: "DESPACITO_SESSION_MAX_AGE",
    key: "sessionMaxAgeMs",
    type: "duration",
    default: "7d",
    description: "A session ends this long after sign-in, however active.",
    validate: positive,
  },
  {
    env: "DESPACITO_TRUSTED_PROXIES",
    key: "trustedProxies",
    type: "list",
    description:
      "Peers whose X-Forwarded-For is believed: IP addresses, CIDR ranges, and `unix` for the Unix socket peer (Caddy).",
    validate: (v) => trustedProxyProblem(v as string[]),
  },
  {
    env: "DESPACITO_AUTH_RATE_LIMIT",
    key: "authRateLimit",
    type: "integer",
    default: "10",
    description:
      "Sign-in attempts (local, OIDC, token bootstrap) allowed per client address per DESPACITO_AUTH_RATE_WINDOW.",
    validate: positive,
  },
  {
    env: "DESPACITO_AUTH_RATE_WINDOW",
    key: "authRateWindowMs",
    type: "duration",
    default: "5m",
    description: "The window of DESPACITO_AUTH_RATE_LIMIT; attempts refill evenly over it.",
    validate: positive,
  },
  {
    env: "DESPACITO_CLI_ACCESS_TOKEN_TTL",
    key: "cliAccessTokenTtlMs",
    type: "duration",
    default: "1h",
    description:
      "Lifetime of an access token issued to `despacito login` (the CLI refreshes it silently).",
    validate: positive,
  },
  {
    env: "DESPACITO_CLI_REFRESH_TOKEN_TTL",
    key: "cliRefreshTokenTtlMs",
    type: "duration",
    default: "30d",
    description:
      "A CLI sign-in unused for this long ends (sliding: every refresh moves it forward).",
    validate: positive,
  },
  // --- the operator CLI on another machine (despacito status, deploy, logs …) --
  {
    env: "DESPACITO_URL",
    key: "cliUrl",
    type: "url",
    description:
      "Operator commands: the despacito server to talk to (else the one `despacito login` signed in to).",
  },
  {
    env: "DESPACITO_TOKEN",
    key: "cliToken",
    type: "string",
    secret: true,
    description:
      "Operator commands: a bearer token to use instead of `despacito login` (CI); needs DESPACITO_URL.",
  },
  // --- forge (Forgejo/Gitea integration) and sealed secrets -----------------
  {
    env: "DESPACITO_SECRET_KEY_FILE",
    key: "secretKeyFile",
    type: "path",
    description:
      "File with the server key (32 bytes, base64) that seals stored forge tokens and webhook secrets. Unset: secret.key in the data dir, generated on first use (mode 0600).",
  },
  {
    env: "DESPACITO_FORGE_TIMEOUT",
    key: "forgeTimeoutMs",
    type: "duration",
    default: "10s",
    description:
      "Timeout of one request to a forge's API (repository check, webhook setup, commit status).",
    validate: positive,
  },
  {
    env: "DESPACITO_FORGE_STATUS_ATTEMPTS",
    key: "forgeStatusAttempts",
    type: "integer",
    default: "6",
    description: "How many times a commit status is tried before it is recorded as failed.",
    validate: positive,
  },
  {
    env: "DESPACITO_FORGE_STATUS_BACKOFF",
    key: "forgeStatusBackoffMs",
    type: "duration",
    default: "2s",
    description: "Wait before the first retry of a commit status; doubles each retry (at most 5m).",
    validate: positive,
  },
  {
    env: "DESPACITO_FORGE_SECRET_OVERLAP",
    key: "forgeSecretOverlapMs",
    type: "duration",
    default: "24h",
    description: "After a webhook secret rotation, how long the previous secret is still accepted.",
    validate: positive,
  },
  // --- deploy ---
  {
    env: "DESPACITO_FLAKE_REF_SCHEMES",
    key: "flakeRefSchemes",
    type: "list",
    default: DEFAULT_FLAKE_REF_SCHEMES.join(","),
    description:
      "Flake reference schemes a webhook's flake_ref may use (https = tarballs). path: and file-based refs are off by default; tests add git+file.",
    validate: (v) => {
      const bad = (v as string[]).filter((s) => !FLAKE_REF_SCHEMES.includes(s));
      return bad.length > 0
        ? `unknown scheme(s) ${bad.join(", ")}; known: ${FLAKE_REF_SCHEMES.join(", ")}`
        : undefined;
    },
  },
  {
    env: "DESPACITO_DEPLOY_TIMEOUT",
    key: "deployTimeoutMs",
    type: "duration",
    default: "30m",
    description:
      "How long `colmena apply` may run before its process group is killed and the deployment fails (per package: `timeout` in DESPACITO_CONFIG).",
    validate: positive,
  },
  {
    env: "DESPACITO_NIX_TIMEOUT",
    key: "nixTimeoutMs",
    type: "duration",
    default: "10m",
    description:
      "How long `nix flake lock` (pinning an input) and other nix/git calls of a deployment may run.",
    validate: positive,
  },
  {
    env: "DESPACITO_DRIFT_INTERVAL",
    key: "driftIntervalMs",
    type: "duration",
    description:
      "How often every node's running system is compared with the one the flake's HEAD evaluates to (unset: only on POST /api/nodes/refresh).",
    validate: positive,
  },
  {
    env: "DESPACITO_EXEC_ENV",
    key: "execEnv",
    type: "list",
    default: "",
    description:
      "More environment variables git, nix and colmena inherit, by name, beyond `PATH`, `HOME`, `USER`, `LOGNAME`, `LANG`, `LC_*`, `TZ`, `TMPDIR`, `NIX_*`, `SSH_AUTH_SOCK`, `XDG_*`, `LOCALE_ARCHIVE`, `TERM`, `NO_COLOR` and `GIT_CONFIG_*`. `DESPACITO_*` and `PG*` are never passed on.",
  },
  {
    env: "DESPACITO_GIT_AUTHOR_NAME",
    key: "gitAuthorName",
    type: "string",
    default: "despacito",
    description: "Author and committer name of the commits despacito makes in the flake repo.",
  },
  {
    env: "DESPACITO_GIT_AUTHOR_EMAIL",
    key: "gitAuthorEmail",
    type: "string",
    default: "despacito@localhost",
    description: "Author and committer email of the commits despacito makes in the flake repo.",
  },
  // --- the flake's remote (src/deploy/remote.ts) ---
  {
    env: "DESPACITO_FLAKE_REMOTE",
    key: "flakeRemote",
    type: "string",
    description:
      "Git URL of the deployment flake's repository (`ssh://`, `https://`, a path). Set: an empty DESPACITO_FLAKE_DIR is cloned at start; each deployment fetches and fast-forwards first and pushes its commits after. Unset: nothing is fetched or pushed.",
    validate: (v) => {
      if (typeof v !== "string") return undefined;
      if (v.startsWith("-")) return "must be a git URL or path, not an option";
      // A password in the URL would reach argv and logs: credentials come from files only.
      if (/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(v)) {
        return "must not carry a password or token; use DESPACITO_FLAKE_TOKEN_FILE";
      }
      return undefined;
    },
  },
  {
    env: "DESPACITO_FLAKE_BRANCH",
    key: "flakeBranch",
    type: "string",
    description:
      "Branch of DESPACITO_FLAKE_REMOTE despacito follows and pushes to. Default: the remote's default branch (what a clone checks out).",
    validate: (v) =>
      typeof v === "string" && /^[A-Za-z0-9._/][A-Za-z0-9._/-]*$/.test(v)
        ? undefined
        : "must be a plain branch name",
  },
  {
    env: "DESPACITO_FLAKE_SSH_KEY_FILE",
    key: "flakeSshKeyFile",
    type: "path",
    description:
      "Private SSH key for an `ssh://` remote (a Forgejo deploy key with write access). Used only through GIT_SSH_COMMAND, never in argv or logs; needs DESPACITO_FLAKE_KNOWN_HOSTS_FILE.",
  },
  {
    env: "DESPACITO_FLAKE_KNOWN_HOSTS_FILE",
    key: "flakeKnownHostsFile",
    type: "path",
    description:
      "known_hosts file with the remote's host key; ssh runs with StrictHostKeyChecking=yes against it alone.",
  },
  {
    env: "DESPACITO_FLAKE_TOKEN_FILE",
    key: "flakeTokenFile",
    type: "path",
    description:
      "File holding an access token for an `https://` remote (Forgejo: a token with repository write scope), handed to git by a credential helper that reads the file; never in argv, URLs or logs.",
  },
  {
    env: "DESPACITO_GIT_SIGNING_KEY_FILE",
    key: "gitSigningKeyFile",
    type: "path",
    description:
      "SSH private key that signs despacito's commits (git's `gpg.format=ssh`), so the team can tell its lock bumps with `git verify-commit`. Unset: commits are not signed.",
  },
  {
    env: "DESPACITO_HA",
    key: "ha",
    type: "boolean",
    default: "false",
    description:
      "Several instances share this PostgreSQL database and DESPACITO_FLAKE_REMOTE (each with its own flake dir): the one holding the leader lease runs deployments, all serve API, UI and SSE. Needs PostgreSQL and a flake remote.",
  },
  {
    env: "DESPACITO_INSTANCE_NAME",
    key: "instanceName",
    type: "string",
    description:
      "This instance's name in /health/ready and the logs (with DESPACITO_HA). Default: `<hostname>:<pid>`.",
  },
  // --- operations (src/ops): metrics, admission, load ---
  {
    env: "DESPACITO_METRICS",
    key: "metrics",
    type: "enum",
    values: ["off", "public", "token"],
    default: "token",
    description:
      "Who may read GET /metrics: `token` (any valid bearer token), `public` (anyone), `off` (no endpoint; 404).",
  },
  {
    env: "DESPACITO_QUEUE_LIMIT",
    key: "queueLimit",
    type: "integer",
    default: "100",
    description:
      "Queued deployments despacito accepts; beyond it webhooks answer 429 `queue_full` with Retry-After. Also scales the load gauge.",
    validate: positive,
  },
  {
    env: "DESPACITO_WEBHOOK_WAITING_LIMIT",
    key: "webhookWaitingLimit",
    type: "integer",
    default: "64",
    description:
      "Webhook clients (POST /webhook, forge deliveries) handled at once, including those waiting for an outcome; beyond it 429 `queue_full`.",
    validate: positive,
  },
  {
    env: "DESPACITO_NOTIFY_SECRETS",
    key: "notifySecrets",
    type: "string",
    secret: true,
    description:
      "Secrets of the notification targets in DESPACITO_CONFIG: `NAME=SECRET` lines (webhook: HMAC key, required; ntfy: access token, optional).",
  },
  {
    env: "DESPACITO_NOTIFY_ATTEMPTS",
    key: "notifyAttempts",
    type: "integer",
    default: "6",
    description: "How many times a notification is tried before it is recorded as failed.",
    validate: positive,
  },
  {
    env: "DESPACITO_NOTIFY_BACKOFF",
    key: "notifyBackoffMs",
    type: "duration",
    default: "5s",
    description: "Wait before a notification's first retry; doubles each retry (at most 10m).",
    validate: positive,
  },
  {
    env: "DESPACITO_NOTIFY_TIMEOUT",
    key: "notifyTimeoutMs",
    type: "duration",
    default: "10s",
    description: "Timeout of one notification attempt.",
    validate: positive,
  },
] as const satisfies readonly OptionSpec[];

export const OPTIONS: readonly OptionSpec[] = ROWS;

// A Config field without a row fails to compile here (`key` already refuses a row without a field).
const _everyFieldHasARow: Record<Exclude<keyof Config, typeof ROWS[number]["key"]>, never> = {};
