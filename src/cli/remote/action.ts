/**
 * The shape shared by the commands that ask the server to do one thing
 * (retry, rollback, promote, release): POST, then print what the server
 * answered — the deployment it queued or changed, or its status.
 */

import { out } from "../io.ts";
import type { Remote } from "./client.ts";
import { printJson, runRemote } from "./run.ts";

export interface ActionAnswer {
  status?: string;
  deployment_id?: string;
  id?: string;
  package?: string;
  version?: string;
  [key: string]: unknown;
}

export async function postAction(
  remote: Remote,
  path: string,
  body: Record<string, unknown>,
  json: boolean,
  what: string,
): Promise<number> {
  const answer = await remote.json<ActionAnswer>("POST", path, { body });
  if (json) {
    printJson(answer);
    return 0;
  }
  const id = answer.deployment_id ?? answer.id;
  const subject = [answer.package, answer.version].filter(Boolean).join(" ");
  out(
    `${what}: ${
      [subject, id ? `deployment ${id}` : "", answer.status ?? "ok"].filter(Boolean)
        .join(", ")
    }`,
  );
  return 0;
}

/** A command `despacito <what> ARG [--json]` that POSTs `{}` to `path(ARG)`. */
export function actionCommand(
  spec: { what: string; usage: string; path: (arg: string) => string },
): (args: string[]) => Promise<number> {
  return async (args) =>
    await runRemote(
      { usage: spec.usage, options: {}, positionals: { min: 1, max: 1 } },
      args,
      async ({ positionals, json, remote }) =>
        await postAction(await remote(), spec.path(positionals[0]), {}, json, spec.what),
    );
}
