/** `despacito token create`: a bearer token from the CLI, whether or not bootstrap is open. */

import { strictArgs, UsageError } from "./args.ts";
import { isDomainError } from "../core/errors.ts";
import { loadMigrations, migrate, MigrationError } from "../db/migrate.ts";
import { createToken, parseNewToken } from "../auth/tokens.ts";
import { recordCli } from "./audit.ts";
import { configOrReport, loggerFor, withDatabase } from "./runtime.ts";
import { createInputsReader } from "../deploy/inputs.ts";
import { err, out } from "./io.ts";

export async function tokenCommand(args: string[]): Promise<number> {
  const usage =
    "usage: despacito token create --description TEXT [--expires-in 30d] [--package NAME]... [--json]";
  let parsed;
  try {
    parsed = strictArgs(args, {
      description: { type: "string" },
      "expires-in": { type: "string" },
      package: { type: "string", multiple: true },
      json: { type: "boolean" },
    }, { min: 1, max: 1 });
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`despacito: ${e.message}\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals[0] !== "create") {
    err(usage);
    return 2;
  }
  let input;
  try {
    input = parseNewToken({
      description: values.description,
      expires_in: values["expires-in"],
      packages: values.package,
    });
  } catch (e) {
    if (!isDomainError(e)) throw e;
    for (const d of e.details ?? []) err(`--${d.field.replace("_", "-")}: ${d.message}`);
    return 2;
  }
  const config = configOrReport();
  if (!config) return 2;
  const unknown = await unknownPackages(input.packages, config.flakeDir);
  if (typeof unknown === "string") {
    err(`despacito: ${unknown}`);
    return 1;
  }
  if (unknown.length > 0) {
    err(
      `--package: ${unknown.map((p) => `"${p}"`).join(", ")} not an input of the deployment flake`,
    );
    return 2;
  }
  const log = loggerFor(config, "stderr");
  return await withDatabase(config, log, async (db) => {
    try {
      await migrate(db.sql, await loadMigrations(), log);
    } catch (e) {
      if (!(e instanceof MigrationError)) throw e;
      err(`despacito: ${e.message}`);
      return 1;
    }
    const t = await createToken(db.sql, input);
    log.info("token created", { component: "cli", token_id: t.id });
    await recordCli(db.sql, {
      action: "token.created",
      target: `token:${t.id}`,
      details: { description: t.description, packages: t.packages },
    });
    if (values.json) {
      out(
        JSON.stringify({
          id: t.id,
          token: t.token,
          description: t.description,
          packages: t.packages,
          created_at: t.createdAt.toISOString(),
          expires_at: t.expiresAt?.toISOString() ?? null,
        }),
      );
    } else {
      out(t.token);
      err(
        `token ${t.id} created${
          t.expiresAt ? `, expires ${t.expiresAt.toISOString()}` : ""
        }; it is shown only once.`,
      );
    }
    return 0;
  });
}

/**
 * The API refuses a scope naming no input of the flake (422); the CLI the same, when it knows the
 * flake (DESPACITO_FLAKE_DIR). A string is why the flake could not be read.
 */
async function unknownPackages(
  asked: string[] | null | undefined,
  flakeDir: string | undefined,
): Promise<string[] | string> {
  if (!asked?.length || !flakeDir) return [];
  try {
    const known = (await createInputsReader(flakeDir).list()).map((i) => i.name);
    return asked.filter((p) => !known.includes(p));
  } catch (e) {
    return `cannot check --package against the flake: ${(e as Error).message}`;
  }
}
