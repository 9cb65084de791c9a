/**
 * The command line: picks a subcommand (serve by default) and hands over.
 * Each subcommand lives in its own file and returns an exit code; nothing
 * here touches the network or the database.
 */

import { configHelpText } from "../config/help.ts";
import { versionCommand } from "./version.ts";
import { err, out } from "./io.ts";
import { EXIT } from "./exit.ts";
import { DatabaseInUseError } from "../db/connect.ts";
import { isOperatorCommand } from "../build/operator_permissions.ts";

/**
 * A subcommand's module, loaded when it runs: `serve` must not load (and
 * start slower and larger for) the operator CLI, the state export or the
 * user admin commands.
 */
function lazy<M>(
  load: () => Promise<M>,
  pick: (m: M) => (args: string[]) => Promise<number>,
): (args: string[]) => Promise<number> {
  return async (args) => pick(await load())(args);
}

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
    run: lazy(() => import("./serve.ts"), (m) => m.serveCommand),
  },
  {
    name: "migrate",
    usage: "despacito migrate [--status]",
    summary: "apply pending database migrations and exit, or list applied/pending",
    run: lazy(() => import("./migrate.ts"), (m) => m.migrateCommand),
  },
  {
    name: "token",
    usage: "despacito token create --description TEXT [--expires-in 30d] [--package NAME]...",
    summary: "create a bearer token (printed once)",
    run: lazy(() => import("./token.ts"), (m) => m.tokenCommand),
  },
  {
    name: "user",
    usage: "despacito user add NAME | passwd NAME | disable NAME | enable NAME | list",
    summary: "manage local accounts (password read from stdin, never echoed)",
    run: lazy(() => import("./user.ts"), (m) => m.userCommand),
  },
  {
    name: "secrets",
    usage: "despacito secrets rotate-key",
    summary: "re-seal stored forge secrets under a new server key (stop the server first)",
    run: lazy(() => import("./secrets.ts"), (m) => m.secretsCommand),
  },
  {
    name: "audit",
    usage: "despacito audit verify [--json]",
    summary: "check the audit trail's hash chain; names the first tampered row (exit 1)",
    run: lazy(() => import("./audit.ts"), (m) => m.auditCommand),
  },
  {
    name: "state",
    usage: "despacito state export | state import FILE|- [--secrets-dir DIR]",
    summary: "print the configured state as YAML (no secrets), or recreate it in an empty database",
    run: lazy(() => import("./state.ts"), (m) => m.stateCommand),
  },
  {
    name: "healthcheck",
    usage: "despacito healthcheck",
    summary: "probe the configured address or socket; exit 0 when healthy, 1 otherwise",
    run: lazy(() => import("./healthcheck.ts"), (m) => m.healthcheckCommand),
  },
  {
    name: "version",
    usage: "despacito version",
    summary: "print version and commit",
    run: versionCommand,
  },
  // Operator commands: talk to a (remote) server over its API; see README "The operator CLI".
  {
    name: "login",
    usage: "despacito login [URL]",
    summary: "sign this command line in to a server through the browser",
    run: lazy(() => import("./remote/login.ts"), (m) => m.loginCommand),
  },
  {
    name: "logout",
    usage: "despacito logout",
    summary: "revoke the sign-in and delete the stored credentials",
    run: lazy(() => import("./remote/logout.ts"), (m) => m.logoutCommand),
  },
  {
    name: "status",
    usage: "despacito status",
    summary: "queue, packages, nodes and held packages",
    run: lazy(() => import("./remote/status.ts"), (m) => m.statusCommand),
  },
  {
    name: "deployments",
    usage: "despacito deployments [--package P] [--status S] [--limit N]",
    summary: "list deployments, newest first",
    run: lazy(() => import("./remote/deployments.ts"), (m) => m.deploymentsCommand),
  },
  {
    name: "show",
    usage: "despacito show ID",
    summary: "one deployment",
    run: lazy(() => import("./remote/show.ts"), (m) => m.showCommand),
  },
  {
    name: "logs",
    usage: "despacito logs [-f] ID",
    summary: "a deployment's output; -f follows it to the end",
    run: lazy(() => import("./remote/logs.ts"), (m) => m.logsCommand),
  },
  {
    name: "deploy",
    usage: "despacito deploy PACKAGE VERSION --store-path P [--flake-ref R] [--no-wait]",
    summary: "deploy a version and wait for the outcome",
    run: lazy(() => import("./remote/deploy.ts"), (m) => m.deployCommand),
  },
  {
    name: "cancel",
    usage: "despacito cancel ID",
    summary: "cancel a queued or running deployment",
    run: lazy(() => import("./remote/cancel.ts"), (m) => m.cancelCommand),
  },
  {
    name: "retry",
    usage: "despacito retry ID",
    summary: "queue a deployment again",
    run: lazy(() => import("./remote/retry.ts"), (m) => m.retryCommand),
  },
  {
    name: "rollback",
    usage: "despacito rollback PACKAGE --to ID",
    summary: "roll a package back to an earlier deployment's version",
    run: lazy(() => import("./remote/rollback.ts"), (m) => m.rollbackCommand),
  },
  {
    name: "promote",
    usage: "despacito promote ID",
    summary: "promote a deployment past its manual gate",
    run: lazy(() => import("./remote/promote.ts"), (m) => m.promoteCommand),
  },
  {
    name: "release",
    usage: "despacito release PACKAGE",
    summary: "release a held package",
    run: lazy(() => import("./remote/release.ts"), (m) => m.releaseCommand),
  },
  {
    name: "tokens",
    usage: "despacito tokens list | create --description TEXT | revoke ID",
    summary: "the server's bearer tokens, remotely",
    run: lazy(() => import("./remote/tokens.ts"), (m) => m.tokensCommand),
  },
  {
    name: "help",
    usage: "despacito help [config]",
    summary: "this text, or the configuration table",
    run: helpCommand,
  },
];

export function usageText(): string {
  // Usage and summary on one line while that fits 100 columns, else the summary below.
  const width = Math.max(...COMMANDS.map((c) => c.usage.length).filter((n) => n <= 36));
  return [
    "despacito: continuous delivery for NixOS fleets (Forgejo → flake.lock → colmena apply)",
    "",
    "Usage:",
    ...COMMANDS.map((c) =>
      c.usage.length <= width && 4 + width + c.summary.length <= 100
        ? `  ${c.usage.padEnd(width)}  ${c.summary}`
        : `  ${c.usage}\n      ${c.summary}`
    ),
    "",
    "Every operator command (login … tokens) takes --json and --help. Exit status: 0 ok,",
    "1 the operation failed, 2 usage or configuration error, 3 not signed in or forbidden,",
    "4 server unreachable.",
    "",
    configHelpText(),
  ].join("\n");
}

async function helpCommand(args: string[]): Promise<number> {
  if (args.length > 1 || (args.length === 1 && args[0] !== "config")) {
    err(
      `despacito: unexpected argument "${args[args.length - 1]}"\nusage: despacito help [config]`,
    );
    return await Promise.resolve(EXIT.usage);
  }
  out(args[0] === "config" ? configHelpText() : usageText());
  return await Promise.resolve(EXIT.ok);
}

export async function main(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  if (first === "--help" || first === "-h") return await helpCommand(rest);
  if (first === "--version" || first === "-V") return await versionCommand(rest);
  if (first === undefined || first.startsWith("-")) {
    return await COMMANDS.find((c) => c.name === "serve")!.run(args);
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) {
    err(`despacito: unknown command "${first}"\n\n${usageText()}`);
    return 2;
  }
  // Operator commands print their own, longer usage.
  if ((rest.includes("--help") || rest.includes("-h")) && !isOperatorCommand([first])) {
    out(`usage: ${command.usage}\n  ${command.summary}`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (!(e instanceof DatabaseInUseError)) throw e;
    // One line, no stack trace: the operator's next step is all that matters.
    err(
      `despacito: ${e.message} (is the server running?): stop it first, or use PostgreSQL ` +
        "(DESPACITO_POSTGRES_CONNECTION_URI) to run database commands beside the server",
    );
    return EXIT.failed;
  }
}
