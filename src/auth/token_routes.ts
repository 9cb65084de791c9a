/** /api/tokens and /api/me: thin handlers over tokens.ts. */

import { DomainError } from "../core/errors.ts";
import type { Sql } from "../db/connect.ts";
import { readJsonObject } from "../http/json.ts";
import type { RequestAudit } from "../http/audit.ts";
import type { RouteDef } from "../http/types.ts";
import type { Principal } from "./principal.ts";
import { createToken, listTokens, parseNewToken, revokeToken, tokenJson } from "./tokens.ts";

export function tokenRoutes(
  deps: { sql: Sql; audit: RequestAudit; packageNames: () => Promise<string[] | undefined> },
): RouteDef<Principal>[] {
  const { sql, audit } = deps;
  return [
    {
      method: "POST",
      path: "/api/tokens",
      access: "bootstrap",
      summary: "create a bearer token (open while none exists)",
      handler: async (c) => {
        const input = parseNewToken(
          await readJsonObject(c, ["description", "expires_in", "packages"]),
        );
        if (input.packages) refuseUnknownPackages(input.packages, await deps.packageNames());
        const p = c.get("principal");
        const created = await createToken(sql, input, {
          bootstrap: p === undefined,
          creator: p?.kind === "token"
            ? { tokenId: p.token.id }
            : p?.kind === "session"
            ? { userId: p.user.id }
            : {},
        });
        c.get("log").info("token created", {
          component: "auth",
          token_id: created.id,
          bootstrap: p === undefined,
          by: p?.kind === "token"
            ? `token:${p.token.id}`
            : p?.kind === "session"
            ? `user:${p.user.id}`
            : "bootstrap",
        });
        await audit(c, {
          action: "token.created",
          target: `token:${created.id}`,
          details: {
            description: input.description,
            packages: input.packages ?? null,
            bootstrap: p === undefined,
          },
        });
        return c.json({ ...tokenJson(created), token: created.token }, 201);
      },
    },
    {
      method: "GET",
      path: "/api/tokens",
      access: "authenticated",
      summary: "list tokens (metadata only)",
      handler: async (c) => c.json({ tokens: (await listTokens(sql)).map(tokenJson) }),
    },
    {
      method: "DELETE",
      path: "/api/tokens/:id",
      access: "manage",
      summary: "revoke a token",
      handler: async (c) => {
        const id = c.req.param("id") ?? "";
        if (!(await revokeToken(sql, id))) {
          throw new DomainError("not_found", "token_not_found", "no such active token");
        }
        c.get("log").info("token revoked", { component: "auth", token_id: id });
        await audit(c, { action: "token.revoked", target: `token:${id}` });
        return c.body(null, 204);
      },
    },
    {
      method: "GET",
      path: "/api/me",
      access: "authenticated",
      summary: "who is asking",
      handler: (c) => {
        const p = c.get("principal")!;
        if (p.kind === "token") return c.json({ kind: "token", token: p.token });
        return c.json({
          kind: "session",
          user: {
            id: p.user.id,
            issuer: p.user.issuer,
            username: p.user.username,
            email: p.user.email,
            display_name: p.user.displayName,
          },
        });
      },
    },
  ];
}

/** A scope naming a package the flake does not have would never match: 422, not a useless token. */
function refuseUnknownPackages(asked: string[], known: string[] | undefined) {
  if (!known) return;
  const unknown = asked.filter((p) => !known.includes(p));
  if (unknown.length === 0) return;
  const message = `packages: ${unknown.map((p) => `"${p}"`).join(", ")} ${
    unknown.length === 1 ? "is not an input" : "are not inputs"
  } of the deployment flake`;
  throw new DomainError("unprocessable", "unknown_package", message, {
    details: [{ field: "packages", message }],
  });
}
