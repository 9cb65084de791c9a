import { VERSION_INFO } from "../version.ts";
import { out } from "./io.ts";

export function versionCommand(_args: string[]): Promise<number> {
  out(`despacito ${VERSION_INFO.version} (commit ${VERSION_INFO.commit})`);
  return Promise.resolve(0);
}
