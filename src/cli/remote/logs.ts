/**
 * `despacito logs [-f] ID`: the deployment's captured output. With -f,
 * follows it live until the deployment ends (resuming across dropped
 * connections and server restarts without gaps) and exits with its outcome:
 * 0 deployed, 1 otherwise. --json prints one JSON object per line.
 */

import { EXIT } from "../args.ts";
import { err, out } from "../io.ts";
import { follow } from "./follow.ts";
import { oneLine, runRemote } from "./run.ts";
import { outcomeExit } from "./view.ts";

const USAGE = "usage: despacito logs [-f|--follow] ID [--json]\n" +
  "  Prints a deployment's output; -f follows it until the deployment ends.";

export async function logsCommand(args: string[]): Promise<number> {
  return await runRemote(
    {
      usage: USAGE,
      options: { follow: { type: "boolean", short: "f" } },
      positionals: { min: 1, max: 1 },
    },
    args,
    async ({ positionals, values, json, remote }) => {
      const r = await remote();
      const id = positionals[0];
      if (!values.follow) {
        const res = await r.request("GET", `/api/deployments/${encodeURIComponent(id)}/log`);
        const text = await res.text();
        if (json) {
          for (const line of text.split("\n").slice(0, -1)) out(JSON.stringify({ line }));
        } else if (text) Deno.stdout.writeSync(new TextEncoder().encode(text));
        return EXIT.ok;
      }
      const status = await follow(r, id, {
        onLog: (e) => out(json ? JSON.stringify({ type: "log", ...e }) : oneLine(e.line)),
        onStatus: (s, data) =>
          json ? out(JSON.stringify({ type: "status", status: s, seq: data.seq })) : err(`[${s}]`),
        onReconnect: (lastId, why) =>
          err(`despacito: connection lost (${why}); resuming after event ${lastId}`),
      });
      return outcomeExit(status);
    },
  );
}
