/**
 * Builds every area of the server in dependency order and wires the ports
 * between them (the forge enqueues through deploy, sign-in feeds the guard).
 * Used by the server and by tests that need the complete route table (the
 * auth matrix). Optional areas return nothing when they are not configured.
 */

import type { Area, AreaContext } from "./core/area.ts";
import { createUiArea } from "./ui/area.ts";

export async function buildAreas(ctx: AreaContext): Promise<Area[]> {
  const areas: Area[] = [];
  // deploy, sign-in and forge register here; the UI stays last (it answers what nothing matched).
  areas.push(await createUiArea(ctx));
  return areas;
}
