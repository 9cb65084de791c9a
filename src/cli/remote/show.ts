/** `despacito show ID`: one deployment — request, steps, nodes, outcome. */

import { EXIT } from "../args.ts";
import { out } from "../io.ts";
import { printJson, runRemote } from "./run.ts";
import { type Deployment, deploymentFacts } from "./view.ts";

const USAGE = "usage: despacito show ID [--json]\n  Shows one deployment.";

export async function showCommand(args: string[]): Promise<number> {
  return await runRemote(
    { usage: USAGE, options: {}, positionals: { min: 1, max: 1 } },
    args,
    async ({ positionals, json, remote }) => {
      const d = await (await remote()).json<Deployment>(
        "GET",
        `/api/deployments/${encodeURIComponent(positionals[0])}`,
      );
      if (json) printJson(d);
      else out(deploymentFacts(d));
      return EXIT.ok;
    },
  );
}
