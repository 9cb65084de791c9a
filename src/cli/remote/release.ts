/** `despacito release PACKAGE`: releases a held package so deployments of it run again. */

import { runRemote } from "./run.ts";
import { postAction } from "./action.ts";

const USAGE = "usage: despacito release PACKAGE [--json]\n" +
  "  Releases a package held after a failed rollback.";

export async function releaseCommand(args: string[]): Promise<number> {
  return await runRemote(
    { usage: USAGE, options: {}, positionals: { min: 1, max: 1 } },
    args,
    async ({ positionals, json, remote }) =>
      await postAction(
        await remote(),
        `/api/packages/${encodeURIComponent(positionals[0])}/release`,
        {},
        json,
        "release",
      ),
  );
}
