/**
 * Builds every area of the server in dependency order and wires the ports
 * between them (the forge enqueues through deploy, sign-in feeds the guard).
 * Used by the server and by tests that need the complete route table (the
 * auth matrix). Optional areas return nothing when they are not configured.
 */

import type { Area, AreaContext } from "./core/area.ts";
import { createAuthArea } from "./auth/area.ts";
import { createDeployArea } from "./deploy/area.ts";
import { createForgeArea } from "./forge/area.ts";
import { createUiArea } from "./ui/area.ts";

export async function buildAreas(ctx: AreaContext): Promise<Area[]> {
  const areas: Area[] = [];
  const deploy = await createDeployArea(ctx);
  areas.push(deploy);
  areas.push(createAuthArea(ctx));
  // The forge enqueues deployments and reports their outcome through deploy's ports.
  const forge = await createForgeArea({ ...ctx, ports: deploy.ports });
  if (forge) areas.push(forge);
  // The UI stays last: it answers what nothing matched.
  areas.push(await createUiArea(ctx));
  return areas;
}
