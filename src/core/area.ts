/**
 * An area is one domain's contribution to the running server: its routes
 * and, when it has background work (the deploy worker, forge status posts),
 * how to start it and how to stop it within the shutdown deadline.
 */

import type { RouteDef } from "../http/types.ts";

export interface Area {
  name: string;
  routes: RouteDef[];
  start?(): void | Promise<void>;
  /** Finish or abandon work; `deadline` aborts when the shutdown timeout is up. */
  stop?(deadline: AbortSignal): Promise<void>;
}
