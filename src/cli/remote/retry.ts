/** `despacito retry ID`: queues a failed, cancelled or interrupted deployment again. */

import { runRemote } from "./run.ts";
import { postAction } from "./action.ts";

const USAGE = "usage: despacito retry ID [--json]\n  Queues the deployment's request again.";

export async function retryCommand(args: string[]): Promise<number> {
  return await runRemote(
    { usage: USAGE, options: {}, positionals: { min: 1, max: 1 } },
    args,
    async ({ positionals, json, remote }) =>
      await postAction(
        await remote(),
        `/api/deployments/${encodeURIComponent(positionals[0])}/retry`,
        {},
        json,
        "retry",
      ),
  );
}
