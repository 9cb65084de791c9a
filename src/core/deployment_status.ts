/**
 * The statuses a deployment passes through, as the API serves them. Owned
 * by the deploy area; kept here, below every area, because the forge's ports
 * (commit statuses follow them) and the web UI (`ui/src/types.ts`) speak
 * them too, and areas do not import each other. Pure data.
 */

export const DEPLOYMENT_STATUSES = [
  "queued",
  "running",
  "deployed",
  "failed",
  "superseded",
  "cancelled",
  "interrupted",
] as const;

export type DeploymentStatus = typeof DEPLOYMENT_STATUSES[number];
