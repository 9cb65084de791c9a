/**
 * Builds every area of the server in dependency order and wires the ports
 * between them (the forge enqueues through deploy, sign-in feeds the guard).
 * Used by the server and by tests that need the complete route table (the
 * auth matrix). Optional areas return nothing when they are not configured.
 */

import type { Area, AreaContext } from "./core/area.ts";
import { createDeployArea } from "./deploy/area.ts";

export async function buildAreas(ctx: AreaContext): Promise<Area[]> {
  const areas: Area[] = [];
  const deploy = await createDeployArea(ctx);
  areas.push(deploy);
  // sign-in, forge and UI register here; the forge takes deploy.ports.
  return areas;
}
