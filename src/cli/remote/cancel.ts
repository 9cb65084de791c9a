/** `despacito cancel ID`: cancels a queued or running deployment. */

import { EXIT } from "../args.ts";
import { out } from "../io.ts";
import { printJson, runRemote } from "./run.ts";

const USAGE = "usage: despacito cancel ID [--json]\n  Cancels a queued or running deployment.";

export async function cancelCommand(args: string[]): Promise<number> {
  return await runRemote(
    { usage: USAGE, options: {}, positionals: { min: 1, max: 1 } },
    args,
    async ({ positionals, json, remote }) => {
      const body = await (await remote()).json<{ status: string; deployment_id: string }>(
        "POST",
        `/api/deployments/${encodeURIComponent(positionals[0])}/cancel`,
        { body: {} },
      );
      if (json) printJson(body);
      else out(`deployment ${body.deployment_id}: ${body.status.replaceAll("_", " ")}`);
      return EXIT.ok;
    },
  );
}
