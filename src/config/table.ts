/**
 * The one declarative table of every DESPACITO_* variable. Everything that
 * reads configuration reads it through this table: the loader, `--help`,
 * `help config`, README's configuration section (checked by a test) and the
 * permission flags. Adding an option means adding a row here, nothing else.
 */

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
  key: string;
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

export const OPTIONS: readonly OptionSpec[] = [
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
      "YAML (or JSON) file with per-package deployment settings (on, goal, extra_args, timeout).",
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
  // --- deploy (issue 3) ---
  {
    env: "DESPACITO_FLAKE_REF_SCHEMES",
    key: "flakeRefSchemes",
    type: "list",
    default: "github,gitlab,sourcehut,git+https,git+ssh,https",
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
];

/** Every scheme DESPACITO_FLAKE_REF_SCHEMES may name. */
export const FLAKE_REF_SCHEMES: readonly string[] = [
  "github",
  "gitlab",
  "sourcehut",
  "git+https",
  "git+ssh",
  "git+http",
  "git+file",
  "https",
  "http",
  "tarball+https",
  "tarball+http",
  "tarball+file",
  "file+https",
  "file+http",
  "file+file",
  "path",
];

export const OPTION_BY_ENV: ReadonlyMap<string, OptionSpec> = new Map(
  OPTIONS.map((o) => [o.env, o]),
);
