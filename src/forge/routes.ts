/** The forge's route table, read top to bottom; handlers parse → call the domain → respond. */

import { describePrincipal, type Principal } from "../auth/principal.ts";
import { DomainError } from "../core/errors.ts";
import { readJsonObject } from "../http/json.ts";
import type { RequestAudit } from "../http/audit.ts";
import type { RouteDef } from "../http/types.ts";
import { createConnection, deleteConnection } from "./connections.ts";
import { rotateWebhookSecret } from "./rotation.ts";
import { parseNewConnection } from "./connection_input.ts";
import { handleDelivery } from "./deliveries.ts";
import type { ForgeDeps } from "./deps.ts";
import { isUuid } from "../core/ids.ts";
import { statusPostJson, statusPostsOf } from "./status_store.ts";
import { connectionViews, repoJson } from "./store.ts";

const NEW_FIELDS = ["forge_url", "owner", "repo", "package", "token", "trigger", "source_url"];

export function forgeRoutes(deps: ForgeDeps, audit: RequestAudit): RouteDef<Principal>[] {
  return [
    {
      method: "POST",
      path: "/api/repositories",
      access: "manage",
      summary: "connect a Forgejo/Gitea repository (creates the webhook when the token may)",
      handler: async (c) => {
        const input = parseNewConnection(await readJsonObject(c, NEW_FIELDS));
        const by = describePrincipal(c.get("principal")!);
        const { view, webhook } = await createConnection(deps, input, by);
        await audit(c, {
          action: "repository.connected",
          target: `repository:${view.id}`,
          details: {
            forge_url: view.forgeUrl,
            owner: view.owner,
            repo: view.repo,
            package: view.package,
          },
        });
        return c.json({ repository: repoJson(view, deps.now()), webhook }, 201);
      },
    },
    {
      method: "GET",
      path: "/api/repositories",
      access: "authenticated",
      summary: "list repository connections (secrets shown only as set + last 4)",
      handler: async (c) => {
        const views = await connectionViews(deps.sql);
        return c.json({ repositories: views.map((v) => repoJson(v, deps.now())) });
      },
    },
    {
      method: "GET",
      path: "/api/repositories/:id",
      access: "authenticated",
      summary: "one repository connection",
      handler: async (c) => {
        const [view] = await connectionViews(deps.sql, c.req.param("id") ?? "");
        if (!view) {
          throw new DomainError(
            "not_found",
            "repository_not_found",
            "no such repository connection",
          );
        }
        return c.json(repoJson(view, deps.now()));
      },
    },
    {
      method: "DELETE",
      path: "/api/repositories/:id",
      access: "manage",
      summary: "disconnect a repository (removes the webhook on the forge, best effort)",
      handler: async (c) => {
        const id = c.req.param("id") ?? "";
        const result = await deleteConnection(deps, id);
        await audit(c, { action: "repository.disconnected", target: `repository:${id}` });
        return c.json(result);
      },
    },
    {
      method: "POST",
      path: "/api/repositories/:id/rotate-secret",
      access: "manage",
      summary: "new webhook secret (shown once); the previous one stays valid for the overlap",
      handler: async (c) => {
        const id = c.req.param("id") ?? "";
        const result = await rotateWebhookSecret(deps, id);
        await audit(c, {
          action: "repository.secret_rotated",
          target: `repository:${id}`,
          details: { previous_valid_until: result.previous_valid_until },
        });
        return c.json(result);
      },
    },
    {
      method: "GET",
      path: "/api/forge/status-posts",
      access: "authenticated",
      summary: "commit statuses posted for a deployment (?deployment_id=), with their outcome",
      handler: async (c) => {
        const id = c.req.query("deployment_id") ?? "";
        if (!isUuid(id)) {
          throw new DomainError("invalid", "invalid_request", "deployment_id must be a uuid", {
            details: [{ field: "deployment_id", message: "must be a uuid" }],
          });
        }
        const rows = await statusPostsOf(deps.sql, id);
        return c.json({ status_posts: rows.map(statusPostJson) });
      },
    },
    {
      method: "POST",
      path: "/webhook/forgejo/:id",
      access: "signed",
      summary: "Forgejo/Gitea webhook (HMAC-signed): releases and tags trigger deployments",
      handler: async (c) => {
        const answer = await handleDelivery(deps, {
          connectionId: c.req.param("id") ?? "",
          header: (name) => c.req.header(name),
          body: new Uint8Array(await c.req.arrayBuffer()),
        });
        return c.json(answer.body, answer.status as 200);
      },
    },
  ];
}
