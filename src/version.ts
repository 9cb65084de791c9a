/**
 * Version and commit of this build. The version comes from deno.json; the
 * commit is written into build_info.json by `deno task compile` and the Nix
 * build, and reads "dev" in a plain checkout.
 */

import denoJson from "../deno.json" with { type: "json" };
import buildInfo from "./build_info.json" with { type: "json" };

export interface VersionInfo {
  version: string;
  commit: string;
}

export const VERSION_INFO: VersionInfo = Object.freeze({
  version: denoJson.version,
  commit: buildInfo.commit,
});
