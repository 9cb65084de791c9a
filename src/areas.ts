/**
 * The composition root of the areas: builds every area in dependency order,
 * wires the ports between them (the forge enqueues through deploy, every
 * area records into ops' audit trail, deploy's status port feeds ops'
 * metrics), and hands over by name what two areas add to the HTTP
 * plumbing: sign-in's access guard and the UI's fallback page. Used by the
 * server and by tests that need the complete route table (the auth
 * matrix). Optional areas return nothing when they are not configured.
 */

import type { AppDeps } from "./http/app.ts";
import type { Area, AreaContext } from "./http/area.ts";
import { createAuthArea } from "./auth/area.ts";
import type { Principal } from "./auth/principal.ts";
import { createDeployArea } from "./deploy/area.ts";
import { createOpsArea } from "./ops/area.ts";
import { createUiArea } from "./ui/area.ts";

/** What createApp needs from the areas: the areas in mount order, the guard, the fallback. */
export type BuiltAreas = Pick<AppDeps<Principal>, "areas" | "guard" | "fallback">;

export async function buildAreas(ctx: AreaContext): Promise<BuiltAreas> {
  const areas: Area<Principal>[] = [];
  // Ops comes first: every other area records into its audit trail.
  const ops = await createOpsArea<Principal>(ctx);
  areas.push(ops);
  ctx = { ...ctx, audit: ctx.audit ?? ops.audit };
  // Tokens are scoped to the flake's inputs, which deploy reads; deploy is built just below.
  let packageNames: () => Promise<string[] | undefined> = () => Promise.resolve(undefined);
  const auth = createAuthArea(ctx, { packageNames: () => packageNames() });
  areas.push(auth);
  const deploy = await createDeployArea(ctx);
  areas.push(deploy);
  packageNames = () => deploy.ports.packageNames();
  ops.followDeployments((fn) => deploy.ports.subscribe(fn));
  // The forge enqueues deployments and reports their outcome through deploy's ports. Its code
  // (and tweetnacl, for the sealed secrets) is loaded only when configured: start-up work a
  // server without forges never needs (bench/README.md, "start → ready").
  if (ctx.config.baseUrl) {
    const { createForgeArea } = await import("./forge/area.ts");
    const forge = await createForgeArea({ ...ctx, ports: deploy.ports });
    if (forge) areas.push(forge);
  } else {
    ctx.log.info(
      "forge integration off: set DESPACITO_BASE_URL to connect Forgejo/Gitea repositories",
      { component: "forge" },
    );
  }
  // The UI stays last: it answers what nothing matched.
  const ui = await createUiArea<Principal>(ctx);
  areas.push(ui);
  return { areas, guard: auth.guard, fallback: ui.fallback };
}
