/** `despacito release PACKAGE`: releases a held package so deployments of it run again. */

import { actionCommand } from "./action.ts";

export const releaseCommand = actionCommand({
  what: "release",
  usage: "usage: despacito release PACKAGE [--json]\n" +
    "  Releases a package held after a failed rollback.",
  path: (name) => `/api/packages/${encodeURIComponent(name)}/release`,
});
