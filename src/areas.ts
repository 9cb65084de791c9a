/**
 * Builds every area of the server in dependency order and wires the ports
 * between them (the forge enqueues through deploy, sign-in feeds the guard).
 * Used by the server and by tests that need the complete route table (the
 * auth matrix). Optional areas return nothing when they are not configured.
 */

import type { Area, AreaContext } from "./core/area.ts";
import { createAuthArea } from "./auth/area.ts";
import { createForgeArea } from "./forge/area.ts";
import { unavailablePorts } from "./forge/ports.ts";
import { createUiArea } from "./ui/area.ts";

export async function buildAreas(ctx: AreaContext): Promise<Area[]> {
  const areas: Area[] = [];
  areas.push(createAuthArea(ctx));
  // MERGE: replace unavailablePorts() with the deploy area's enqueue / subscribe / declaredSource.
  const forge = await createForgeArea({ ...ctx, ports: unavailablePorts() });
  if (forge) areas.push(forge);
  // The UI stays last: it answers what nothing matched.
  areas.push(await createUiArea(ctx));
  return areas;
}
