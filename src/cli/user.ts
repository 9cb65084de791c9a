/**
 * `despacito user add NAME | passwd NAME | disable NAME | enable NAME | list`:
 * local accounts from the command line. Passwords come from stdin — typed
 * without echo (twice) on a terminal, or the first line of a pipe — never
 * from arguments or the environment. Disabling ends the user's sessions.
 */

import { isDomainError } from "../core/errors.ts";
import { loadMigrations, migrate } from "../db/migrate.ts";
import { hashPassword, passwordProblem } from "../auth/passwords.ts";
import {
  createLocalUser,
  listUsers,
  setDisabled,
  setLocalPassword,
  USERNAME,
} from "../auth/users.ts";
import { recordCli } from "./audit.ts";
import { configOrReport, loggerFor, withDatabase } from "./runtime.ts";
import { err, out } from "./io.ts";

const USAGE =
  "usage: despacito user add NAME | passwd NAME | disable NAME|ID | enable NAME|ID | list";

export async function userCommand(args: string[]): Promise<number> {
  const [action, name, ...rest] = args;
  const needsName = ["add", "passwd", "disable", "enable"].includes(action ?? "");
  if (args.some((a) => a.startsWith("-"))) {
    err(`despacito: unknown option "${args.find((a) => a.startsWith("-"))}"\n${USAGE}`);
    return 2;
  }
  if (!action || rest.length > 0 || (needsName ? !name : action !== "list" || name)) {
    err(USAGE);
    return 2;
  }
  if ((action === "add" || action === "passwd") && !USERNAME.test(name)) {
    err("despacito: NAME must be 1-64 letters, digits, '.', '_', '@' or '-'");
    return 2;
  }
  let password: string | undefined;
  if (action === "add" || action === "passwd") {
    password = await readPassword();
    if (password === undefined) return 1;
    const problem = passwordProblem(password);
    if (problem) {
      err(`despacito: the password must be ${problem}`);
      return 2;
    }
  }
  const config = configOrReport();
  if (!config) return 2;
  const log = loggerFor(config).child({ component: "cli" });
  return await withDatabase(config, log, async ({ sql }) => {
    await migrate(sql, await loadMigrations(), log);
    switch (action) {
      case "add": {
        try {
          const u = await createLocalUser(sql, name, await hashPassword(password!));
          log.info("local user created", { username: name, user_id: u.id });
          await recordCli(sql, {
            action: "user.created",
            target: `user:${u.id}`,
            details: { username: name },
          });
          out(`user ${name} created (${u.id})`);
          return 0;
        } catch (e) {
          if (!isDomainError(e)) throw e;
          err(`despacito: ${e.message}`);
          return 1;
        }
      }
      case "passwd": {
        const u = await setLocalPassword(sql, name, await hashPassword(password!));
        if (!u) return noSuchUser(name);
        log.info("local password changed; sessions ended", { username: name, user_id: u.id });
        await recordCli(sql, { action: "user.password_changed", target: `user:${u.id}` });
        out(`password of ${name} changed; their sessions have ended`);
        return 0;
      }
      case "disable":
      case "enable": {
        const u = await setDisabled(sql, name, action === "disable");
        if (!u) return noSuchUser(name);
        log.info(`user ${action}d`, { user_id: u.id });
        await recordCli(sql, { action: `user.${action}d`, target: `user:${u.id}` });
        out(
          `user ${u.username ?? u.subject} ${action}d${
            action === "disable" ? "; their sessions have ended" : ""
          }`,
        );
        return 0;
      }
      default: {
        for (const u of await listUsers(sql)) {
          out([
            u.id,
            u.issuer,
            u.username ?? u.email ?? u.subject,
            u.disabledAt ? "disabled" : "active",
            u.lastLoginAt ? `last login ${u.lastLoginAt.toISOString()}` : "never signed in",
          ].join("\t"));
        }
        return 0;
      }
    }
  });
}

function noSuchUser(name: string): number {
  err(`despacito: no such user: ${name} (local username or user id; see \`despacito user list\`)`);
  return 1;
}

/** From a terminal: prompt twice without echo. From a pipe: the first line. */
async function readPassword(): Promise<string | undefined> {
  if (!Deno.stdin.isTerminal()) {
    const text = new TextDecoder().decode(await new Response(Deno.stdin.readable).arrayBuffer());
    return text.split(/\r?\n/)[0];
  }
  const first = await promptHidden("Password: ");
  if (first === undefined) return undefined;
  const again = await promptHidden("Repeat password: ");
  if (again !== first) {
    err("despacito: the passwords do not match");
    return undefined;
  }
  return first;
}

async function promptHidden(prompt: string): Promise<string | undefined> {
  Deno.stderr.writeSync(new TextEncoder().encode(prompt));
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  const buf = new Uint8Array(64);
  try {
    while (true) {
      const n = await Deno.stdin.read(buf);
      if (n === null) return undefined;
      for (const b of buf.subarray(0, n)) {
        if (b === 3 || b === 4) return undefined; // Ctrl-C, Ctrl-D
        if (b === 13 || b === 10) return new TextDecoder().decode(new Uint8Array(bytes));
        if (b === 127 || b === 8) bytes.pop();
        else bytes.push(b);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(new TextEncoder().encode("\n"));
  }
}
