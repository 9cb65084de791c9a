import { VERSION_INFO } from "../version.ts";
import { err, out } from "./io.ts";

export function versionCommand(args: string[]): Promise<number> {
  if (args.length > 0) {
    err(`despacito: unexpected argument "${args[0]}"\nusage: despacito version`);
    return Promise.resolve(2);
  }
  out(`despacito ${VERSION_INFO.version} (commit ${VERSION_INFO.commit})`);
  return Promise.resolve(0);
}
