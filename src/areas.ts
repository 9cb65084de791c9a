/**
 * Builds every area of the server in dependency order and wires the ports
 * between them (the forge enqueues through deploy, sign-in feeds the guard,
 * every area records into ops' audit trail, deploy's status port feeds ops' metrics).
 * Used by the server and by tests that need the complete route table (the
 * auth matrix). Optional areas return nothing when they are not configured.
 */

import type { Area, AreaContext } from "./core/area.ts";
import { createAuthArea } from "./auth/area.ts";
import { createDeployArea } from "./deploy/area.ts";
import { createForgeArea } from "./forge/area.ts";
import { createOpsArea } from "./ops/area.ts";
import { createUiArea } from "./ui/area.ts";

export async function buildAreas(ctx: AreaContext): Promise<Area[]> {
  const areas: Area[] = [];
  // Ops comes first: every other area records into its audit trail.
  const ops = await createOpsArea(ctx);
  areas.push(ops);
  ctx = { ...ctx, audit: ctx.audit ?? ops.audit };
  const deploy = await createDeployArea(ctx);
  areas.push(deploy);
  ops.followDeployments((fn) => deploy.ports.subscribe(fn));
  areas.push(createAuthArea(ctx));
  // The forge enqueues deployments and reports their outcome through deploy's ports.
  const forge = await createForgeArea({ ...ctx, ports: deploy.ports });
  if (forge) areas.push(forge);
  // The UI stays last: it answers what nothing matched.
  areas.push(await createUiArea(ctx));
  return areas;
}
