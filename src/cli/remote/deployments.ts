/** `despacito deployments [--package P] [--status S] [--version TEXT] [--node N] [--limit N]`: newest first. */

import { EXIT } from "../args.ts";
import { out } from "../io.ts";
import { printJson, runRemote } from "./run.ts";
import { type Deployment, deploymentTable } from "./view.ts";

const USAGE =
  "usage: despacito deployments [--package P] [--status S[,S…]] [--version TEXT] [--node N]\n" +
  "                             [--limit N] [--json]\n" +
  "  Lists deployments, newest first (default limit 20, at most 200). --version matches versions\n" +
  "  containing TEXT; --node keeps deployments that activated (or tried to) on node N.";

export async function deploymentsCommand(args: string[]): Promise<number> {
  return await runRemote(
    {
      usage: USAGE,
      options: {
        package: { type: "string" },
        status: { type: "string" },
        version: { type: "string" },
        node: { type: "string" },
        limit: { type: "string", default: "20" },
      },
    },
    args,
    async ({ values, json, remote }) => {
      const r = await remote();
      const body = await r.json<{ deployments: Deployment[] }>("GET", "/api/deployments", {
        query: {
          package: values.package,
          status: values.status,
          version: values.version,
          node: values.node,
          limit: values.limit,
        },
      });
      if (json) printJson(body);
      else if (body.deployments.length === 0) out("No deployments.");
      else out(deploymentTable(body.deployments));
      return EXIT.ok;
    },
  );
}
