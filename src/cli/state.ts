/**
 * `despacito state export` prints the configured state as YAML (no
 * secrets); `despacito state import FILE|- [--secrets-dir DIR]` recreates it
 * in an empty database, reading the secrets an export leaves out from DIR
 * (see src/ops/state_import.ts for the file names) and printing each
 * imported token's new secret once. FILE and DIR must be readable under the
 * permission flags (the data dir is); `-` reads the state from stdin.
 */

import { parseArgs } from "node:util";
import { hashPassword } from "../auth/passwords.ts";
import { DomainError, isDomainError } from "../core/errors.ts";
import { loadMigrations, migrate } from "../db/migrate.ts";
import { createSealer } from "../secrets/box.ts";
import { loadOrCreateKey } from "../secrets/key.ts";
import { exportState, stateYaml } from "../ops/state.ts";
import { importState, parseState } from "../ops/state_import.ts";
import { recordCli } from "./audit.ts";
import { err, out } from "./io.ts";
import { configOrReport, loggerFor, withDatabase } from "./runtime.ts";

const USAGE = "usage: despacito state export | state import FILE|- [--secrets-dir DIR]";

export async function stateCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { "secrets-dir": { type: "string" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    err(`despacito: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const [action, file, ...extra] = parsed.positionals;
  const exporting = action === "export" && !file && !parsed.values["secrets-dir"];
  if (extra.length > 0 || !(exporting || (action === "import" && file))) {
    err(USAGE);
    return 2;
  }
  const config = configOrReport();
  if (!config) return 2;
  const log = loggerFor(config, "stderr");
  return await withDatabase(config, log, async ({ sql }) => {
    await migrate(sql, await loadMigrations(), log);
    if (exporting) {
      out(await stateYaml(await exportState(sql)));
      return 0;
    }
    const dir = parsed.values["secrets-dir"];
    try {
      const text = file === "-"
        ? await new Response(Deno.stdin.readable).text()
        : await readable(file!, () => Deno.readTextFile(file!));
      const state = parseState(text);
      const sealer = createSealer((await loadOrCreateKey(config, log)).key);
      const result = await importState({
        sql,
        sealer,
        hashPassword,
        readSecret: async (name) => {
          if (!dir) return undefined;
          const path = `${dir}/${name}`;
          const t = await readable(path, () => Deno.readTextFile(path)).catch((e) => {
            if (e instanceof Deno.errors.NotFound) return undefined;
            throw e;
          });
          return t?.replace(/\r?\n$/, "") || undefined;
        },
      }, state);
      await recordCli(sql, {
        action: "state.imported",
        details: {
          users: result.users,
          tokens: result.tokens.length,
          repositories: result.repositories,
        },
      });
      for (const t of result.tokens) {
        if (t.token) out(`${t.id}\t${t.token}\t${t.description}`);
      }
      err(
        `imported ${result.users} user(s), ${result.tokens.length} token(s), ${result.repositories} repository connection(s).\n` +
          "Each token above has a NEW secret (shown once): hand it to whoever used that token.",
      );
      for (const u of result.withoutPassword) {
        err(`local user ${u} has no password yet: run \`despacito user passwd ${u}\``);
      }
      return 0;
    } catch (e) {
      if (!isDomainError(e)) throw e;
      err(`despacito: ${e.message}`);
      for (const d of e.details ?? []) err(`  ${d.field}: ${d.message}`);
      return e.kind === "conflict" ? 1 : 2;
    }
  });
}

/** Reads under the permission flags, explaining a denial instead of a stack trace. */
async function readable<T>(path: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw new DomainError(
        "invalid",
        "not_readable",
        `${path} is outside what despacito may read (see README, Permissions): ` +
          "put it in DESPACITO_DATA_DIR, or pipe the state file with `-`",
      );
    }
    throw e;
  }
}
