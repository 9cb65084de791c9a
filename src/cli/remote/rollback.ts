/** `despacito rollback PACKAGE --to ID`: deploys again what an earlier deployment of PACKAGE deployed. */

import { UsageError } from "../args.ts";
import { runRemote } from "./run.ts";
import { postAction } from "./action.ts";

const USAGE = "usage: despacito rollback PACKAGE --to DEPLOYMENT_ID [--json]\n" +
  "  Rolls PACKAGE back to the version an earlier (deployed) deployment installed.";

export async function rollbackCommand(args: string[]): Promise<number> {
  return await runRemote(
    { usage: USAGE, options: { to: { type: "string" } }, positionals: { min: 1, max: 1 } },
    args,
    async ({ positionals, values, json, remote }) => {
      if (!values.to) throw new UsageError("--to DEPLOYMENT_ID is required");
      return await postAction(
        await remote(),
        `/api/packages/${encodeURIComponent(positionals[0])}/rollback`,
        { deployment_id: values.to },
        json,
        "rollback",
      );
    },
  );
}
