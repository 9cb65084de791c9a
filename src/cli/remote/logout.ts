/**
 * `despacito logout`: revokes the stored sign-in on the server (RFC 7009:
 * the refresh token, which ends the whole CLI sign-in) and deletes the
 * credentials file. The file goes even when the server cannot be reached;
 * then the exit code (4) says the server side may still be live.
 */

import { EXIT } from "../args.ts";
import { out } from "../io.ts";
import { CliError, readCredentials, send } from "./client.ts";
import { credentialsDir, credentialsPath, deleteCredentials } from "./credentials.ts";
import { printJson, runRemote } from "./run.ts";

const USAGE = "usage: despacito logout [--json]\n" +
  "  Signs this computer's command line out of its server and forgets the credentials.";

export async function logoutCommand(args: string[]): Promise<number> {
  return await runRemote({ usage: USAGE, options: {} }, args, async ({ json }) => {
    const dir = credentialsDir();
    const stored = dir ? await readCredentials(dir) : undefined;
    if (!dir || !stored) {
      if (json) printJson({ signed_out: false, reason: "not signed in" });
      else out("Not signed in.");
      return EXIT.ok;
    }
    let revoked = true;
    let problem: CliError | undefined;
    try {
      const res = await send(
        stored.revocation_endpoint,
        {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            token: stored.refresh_token,
            token_type_hint: "refresh_token",
            client_id: stored.client_id,
          }),
        },
        stored.server,
        30_000,
      );
      await res.body?.cancel();
      revoked = res.ok;
      if (!res.ok) problem = new CliError(`the server answered ${res.status}`, EXIT.failed);
    } catch (e) {
      if (!(e instanceof CliError)) throw e;
      revoked = false;
      problem = e;
    }
    await deleteCredentials(dir);
    if (json) printJson({ signed_out: true, server: stored.server, revoked });
    else {
      out(`Signed out of ${stored.server}; ${credentialsPath(dir)} deleted.`);
      if (problem) out(`The server could not revoke the sign-in: ${problem.message}`);
    }
    return problem ? problem.exit : EXIT.ok;
  });
}
