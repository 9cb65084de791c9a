/** `despacito promote ID`: lets a deployment waiting at a manual gate go on to its next stage. */

import { actionCommand } from "./action.ts";

export const promoteCommand = actionCommand({
  what: "promote",
  usage: "usage: despacito promote ID [--json]\n  Promotes a deployment past its manual gate.",
  path: (id) => `/api/deployments/${encodeURIComponent(id)}/promote`,
});
