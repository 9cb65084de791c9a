/**
 * The permission flags of the operator commands (`login`, `status`,
 * `deploy` … — everything that talks to a despacito over its API rather
 * than to a database). They run on an operator's machine or in CI, so they
 * get none of the server's places and programs; instead exactly:
 * - network: the one server they talk to (host and port, from `login URL`,
 *   DESPACITO_URL or the stored credentials), and for `login` only,
 *   127.0.0.1 for the loopback redirect listener;
 * - read/write: the credentials directory ($XDG_CONFIG_HOME/despacito or
 *   ~/.config/despacito) and the `DESPACITO_TOKEN_FILE` secret;
 * - env: DESPACITO_*, XDG_CONFIG_HOME, HOME, NO_COLOR.
 * No server known (not signed in): no network at all; the command says so.
 * Computed by the launcher before the command runs (`deno task cli`, the
 * test harness), the same way as the server's flags.
 */

import { resolve } from "node:path";
import type { Config } from "../config/config.ts";
import { credentialsDir } from "../cli/remote/credentials.ts";

export const OPERATOR_COMMANDS: ReadonlySet<string> = new Set([
  "login",
  "logout",
  "status",
  "deployments",
  "show",
  "logs",
  "deploy",
  "cancel",
  "retry",
  "rollback",
  "promote",
  "release",
  "tokens",
]);

export const OPERATOR_ENV = ["DESPACITO_*", "XDG_CONFIG_HOME", "HOME", "NO_COLOR"];

export interface OperatorInputs {
  config: Readonly<Config>;
  /** argv after the program: the command and its arguments. */
  args: string[];
  /** The process environment (XDG_CONFIG_HOME, HOME). */
  env: (name: string) => string | undefined;
  /** Secret files named by *_FILE variables (DESPACITO_TOKEN_FILE). */
  secretFiles?: string[];
  /** Reads the stored credentials' server, if any (the launcher may read anything). */
  storedServer?: (credentialsDir: string) => string | undefined;
  /** For `deno run`: deno.json and build_info.json, read for the version. */
  programDir?: string;
}

export function isOperatorCommand(args: string[]): boolean {
  return args.length > 0 && OPERATOR_COMMANDS.has(args[0]);
}

/** `host:port` of the server this invocation will talk to, if one is known. */
export function operatorServer(i: OperatorInputs, dir: string | undefined): string | undefined {
  const [command, ...rest] = i.args;
  let url: string | undefined;
  if (command === "login") {
    for (let k = 0; k < rest.length; k++) {
      if (rest[k] === "--timeout") k++;
      else if (!rest[k].startsWith("-")) {
        url = rest[k];
        break;
      }
    }
  }
  url ??= i.config.cliUrl ?? (dir ? i.storedServer?.(dir) : undefined);
  if (!url) return undefined;
  try {
    const u = new URL(url);
    if (u.protocol !== "http:" && u.protocol !== "https:") return undefined;
    return `${u.hostname}:${u.port || (u.protocol === "https:" ? "443" : "80")}`;
  } catch {
    return undefined; // the command itself reports the bad URL
  }
}

export function operatorPermissionFlags(i: OperatorInputs): string[] {
  const dir = credentialsDir(i.env);
  const server = operatorServer(i, dir);
  const net = [server, i.args[0] === "login" ? "127.0.0.1" : undefined]
    .filter((x): x is string => !!x);
  const readable = [
    dir,
    i.config.configFile,
    ...(i.secretFiles ?? []),
    ...(i.programDir
      ? ["deno.json", "src/build_info.json"].map((p) => `${i.programDir}/${p}`)
      : []),
  ].filter((p): p is string => !!p).map((p) => resolve(p));
  return [
    ...(readable.length ? [`--allow-read=${[...new Set(readable)].join(",")}`] : []),
    ...(dir ? [`--allow-write=${resolve(dir)}`] : []),
    `--allow-env=${OPERATOR_ENV.join(",")}`,
    ...(net.length ? [`--allow-net=${net.join(",")}`] : []),
    "--no-prompt",
  ];
}

/** The server the stored credentials belong to (launchers only: they may read anything). */
export function readStoredServer(dir: string): string | undefined {
  try {
    const c = JSON.parse(Deno.readTextFileSync(`${dir}/credentials.json`));
    return typeof c?.server === "string" ? c.server : undefined;
  } catch {
    return undefined;
  }
}
