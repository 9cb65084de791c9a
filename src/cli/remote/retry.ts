/** `despacito retry ID`: queues a failed, cancelled or interrupted deployment again. */

import { actionCommand } from "./action.ts";

export const retryCommand = actionCommand({
  what: "retry",
  usage: "usage: despacito retry ID [--json]\n  Queues the deployment's request again.",
  path: (id) => `/api/deployments/${encodeURIComponent(id)}/retry`,
});
