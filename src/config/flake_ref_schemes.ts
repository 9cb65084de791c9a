/**
 * The flake-reference schemes DESPACITO_FLAKE_REF_SCHEMES may name, and the
 * ones allowed by default. The one home of both lists: the config table
 * validates and defaults the option with them, and src/deploy/flake_ref.ts
 * maps a parsed reference onto these names (`https` = a tarball URL,
 * `file+https` = a plain file). Path and file-system references are known
 * but off by default: a token holder must not make despacito read the
 * server's own disk.
 */

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

export const DEFAULT_FLAKE_REF_SCHEMES: readonly string[] = [
  "github",
  "gitlab",
  "sourcehut",
  "git+https",
  "git+ssh",
  "https",
];
