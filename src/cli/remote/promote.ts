/** `despacito promote ID`: lets a deployment waiting at a manual gate go on to its next stage. */

import { runRemote } from "./run.ts";
import { postAction } from "./action.ts";

const USAGE = "usage: despacito promote ID [--json]\n  Promotes a deployment past its manual gate.";

export async function promoteCommand(args: string[]): Promise<number> {
  return await runRemote(
    { usage: USAGE, options: {}, positionals: { min: 1, max: 1 } },
    args,
    async ({ positionals, json, remote }) =>
      await postAction(
        await remote(),
        `/api/deployments/${encodeURIComponent(positionals[0])}/promote`,
        {},
        json,
        "promote",
      ),
  );
}
