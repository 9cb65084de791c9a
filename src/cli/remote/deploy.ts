/**
 * `despacito deploy PACKAGE VERSION --store-path P [--flake-ref R]
 * [--no-wait]`: asks for a deployment (POST /webhook, the same request CI
 * sends), then follows it until it ends, printing its status changes on
 * stderr. Exit 0 only when deployed; with --no-wait, 0 once it is queued.
 */

import { EXIT } from "../args.ts";
import { err, out } from "../io.ts";
import { follow } from "./follow.ts";
import { printJson, runRemote } from "./run.ts";
import { type Deployment, deploymentFacts, outcomeExit } from "./view.ts";

const USAGE =
  "usage: despacito deploy PACKAGE VERSION --store-path P [--flake-ref R] [--no-wait] [--json]\n" +
  "  Deploys a package version; waits for the outcome (exit 0 only when deployed).";

export async function deployCommand(args: string[]): Promise<number> {
  return await runRemote(
    {
      usage: USAGE,
      options: {
        "store-path": { type: "string" },
        "flake-ref": { type: "string" },
        "no-wait": { type: "boolean" },
      },
      positionals: { min: 2, max: 2 },
    },
    args,
    async ({ positionals, values, json, remote }) => {
      const r = await remote();
      const [pkg, version] = positionals;
      const queued = await r.json<{ status: string; deployment_id: string }>("POST", "/webhook", {
        query: { wait: "false" },
        body: {
          package: pkg,
          version,
          ...(values["store-path"] ? { nix_store_path: values["store-path"] } : {}),
          ...(values["flake-ref"] ? { flake_ref: values["flake-ref"] } : {}),
        },
      });
      const id = queued.deployment_id;
      if (values["no-wait"]) {
        if (json) printJson(queued);
        else out(`deployment ${id} queued`);
        return EXIT.ok;
      }
      if (!json) {
        err(
          `deployment ${id} queued; waiting for it (Ctrl-C stops waiting, not the deployment)`,
        );
      }
      const status = await follow(r, id, {
        onLog: () => {},
        onStatus: (s) => json || err(`[${s}]`),
        onReconnect: (_, why) => json || err(`despacito: connection lost (${why}); resuming`),
      });
      const d = await r.json<Deployment>("GET", `/api/deployments/${encodeURIComponent(id)}`);
      if (json) printJson(d);
      else out(deploymentFacts(d));
      return outcomeExit(status);
    },
  );
}
