/**
 * The command line: picks a subcommand (serve by default) and hands over.
 * Each subcommand lives in its own file and returns an exit code; nothing
 * here touches the network or the database.
 */

import { configHelpText } from "../config/help.ts";
import { auditCommand } from "./audit.ts";
import { stateCommand } from "./state.ts";
import { healthcheckCommand } from "./healthcheck.ts";
import { migrateCommand } from "./migrate.ts";
import { secretsCommand } from "./secrets.ts";
import { serveCommand } from "./serve.ts";
import { tokenCommand } from "./token.ts";
import { userCommand } from "./user.ts";
import { versionCommand } from "./version.ts";
import { err, out } from "./io.ts";

export interface Command {
  name: string;
  usage: string;
  summary: string;
  run(args: string[]): Promise<number>;
}

export const COMMANDS: Command[] = [
  {
    name: "serve",
    usage: "despacito [serve]",
    summary: "run the server (the default)",
    run: serveCommand,
  },
  {
    name: "migrate",
    usage: "despacito migrate [--status]",
    summary: "apply pending database migrations and exit, or list applied/pending",
    run: migrateCommand,
  },
  {
    name: "token",
    usage: "despacito token create --description TEXT [--expires-in 30d] [--package NAME]...",
    summary: "create a bearer token (printed once)",
    run: tokenCommand,
  },
  {
    name: "user",
    usage: "despacito user add NAME | passwd NAME | disable NAME | enable NAME | list",
    summary: "manage local accounts (password read from stdin, never echoed)",
    run: userCommand,
  },
  {
    name: "secrets",
    usage: "despacito secrets rotate-key",
    summary: "re-seal stored forge secrets under a new server key (stop the server first)",
    run: secretsCommand,
  },
  {
    name: "audit",
    usage: "despacito audit verify [--json]",
    summary: "check the audit trail's hash chain; names the first tampered row (exit 1)",
    run: auditCommand,
  },
  {
    name: "state",
    usage: "despacito state export | state import FILE|- [--secrets-dir DIR]",
    summary: "print the configured state as YAML (no secrets), or recreate it in an empty database",
    run: stateCommand,
  },
  {
    name: "healthcheck",
    usage: "despacito healthcheck",
    summary: "probe the configured address or socket; exit 0 when healthy, 1 otherwise",
    run: healthcheckCommand,
  },
  {
    name: "version",
    usage: "despacito version",
    summary: "print version and commit",
    run: versionCommand,
  },
  {
    name: "help",
    usage: "despacito help [config]",
    summary: "this text, or the configuration table",
    run: helpCommand,
  },
];

export function usageText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  return [
    "despacito: continuous delivery for NixOS fleets (Forgejo → flake.lock → colmena apply)",
    "",
    "Usage:",
    ...COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    "",
    configHelpText(),
  ].join("\n");
}

async function helpCommand(args: string[]): Promise<number> {
  out(args[0] === "config" ? configHelpText() : usageText());
  return await Promise.resolve(0);
}

export async function main(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  if (first === "--help" || first === "-h") return await helpCommand(rest);
  if (first === "--version" || first === "-V") return await versionCommand(rest);
  if (first === undefined || first.startsWith("-")) return await serveCommand(args);
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) {
    err(`despacito: unknown command "${first}"\n\n${usageText()}`);
    return 2;
  }
  return await command.run(rest);
}
