/**
 * `despacito tokens list | create --description TEXT [--expires-in D]
 * [--package P]… | revoke ID`: the server's bearer tokens, remotely (the
 * local `despacito token create` works on the database instead).
 */

import { UsageError } from "../args.ts";
import { EXIT } from "../args.ts";
import { err, out } from "../io.ts";
import { printJson, runRemote, since, table } from "./run.ts";

const USAGE = "usage: despacito tokens list [--json]\n" +
  "       despacito tokens create --description TEXT [--expires-in 30d] [--package P]... [--json]\n" +
  "       despacito tokens revoke ID [--json]";

interface Token {
  id: string;
  description: string;
  packages: string[] | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  token?: string;
}

export async function tokensCommand(args: string[]): Promise<number> {
  return await runRemote(
    {
      usage: USAGE,
      options: {
        description: { type: "string" },
        "expires-in": { type: "string" },
        package: { type: "string", multiple: true },
      },
      positionals: { min: 1, max: 2 },
    },
    args,
    async ({ positionals, values, json, remote }) => {
      const [action, id] = positionals;
      const createOnly = values.description ?? values["expires-in"] ?? values.package;
      if (action !== "create" && createOnly !== undefined) {
        throw new UsageError("--description, --expires-in and --package belong to `tokens create`");
      }
      if ((action === "revoke") !== (id !== undefined)) {
        throw new UsageError(
          action === "revoke" ? "revoke needs an ID" : `unexpected argument "${id}"`,
        );
      }
      const r = await remote();
      switch (action) {
        case "list": {
          const { tokens } = await r.json<{ tokens: Token[] }>("GET", "/api/tokens");
          if (json) printJson({ tokens });
          else if (tokens.length === 0) out("No tokens.");
          else {
            out(table(
              ["ID", "DESCRIPTION", "SCOPE", "EXPIRES", "STATE"],
              tokens.map((t) => [
                t.id,
                t.description,
                t.packages?.join(",") ?? "all",
                since(t.expires_at) === "-" ? "never" : since(t.expires_at),
                t.revoked_at ? "revoked" : "active",
              ]),
            ));
          }
          return EXIT.ok;
        }
        case "create": {
          if (!values.description) throw new UsageError("--description is required");
          const t = await r.json<Token>("POST", "/api/tokens", {
            body: {
              description: values.description,
              ...(values["expires-in"] ? { expires_in: values["expires-in"] } : {}),
              ...(values.package ? { packages: values.package } : {}),
            },
          });
          if (json) printJson(t);
          else {
            out(t.token!);
            err(`token ${t.id} created; it is shown only once.`);
          }
          return EXIT.ok;
        }
        case "revoke": {
          await r.request("DELETE", `/api/tokens/${encodeURIComponent(id)}`);
          if (json) printJson({ revoked: true, id });
          else out(`token ${id} revoked`);
          return EXIT.ok;
        }
        default:
          throw new UsageError(`unknown action "${action}" (list, create or revoke)`);
      }
    },
  );
}
