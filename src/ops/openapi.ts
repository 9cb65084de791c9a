/**
 * The OpenAPI 3.1 document, generated from the route table (method, path,
 * access, summary) joined with api_schemas.ts (parameters and bodies). Each
 * access kind becomes a security requirement; every route gets the error
 * shape for the failures its access and parameters make possible. A route
 * without a schema is listed under `x-missing-schemas`, which a test
 * requires to be empty.
 */

import type { Access, RouteDef } from "../http/types.ts";
import { COMPONENTS, ROUTE_SCHEMAS, type RouteSchema } from "./api_schemas.ts";

type Json = Record<string, unknown>;

const SECURITY: Record<Access, Json[]> = {
  public: [],
  authenticated: [{ bearer: [] }, { session: [] }],
  manage: [{ bearer: [] }, { session: [] }],
  token: [{ bearer: [] }],
  // Open while no token exists (and bootstrap is on); then like manage.
  bootstrap: [{}, { bearer: [] }, { session: [] }],
  signed: [{ forgeSignature: [] }],
};

const ACCESS_NOTE: Record<Access, string> = {
  public: "Anyone.",
  authenticated: "A bearer token or a session (writes need CSRF proof).",
  manage: "A bearer token not limited to packages, or a session.",
  token: "A bearer token.",
  bootstrap: "Anyone while no token exists and bootstrap is on; else like manage.",
  signed: "The forge's HMAC-SHA256 signature of the body (X-Forgejo-Signature).",
};

const error = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

function successResponse(shape: RouteSchema["responses"][string]): Json {
  switch (shape) {
    case "empty":
      return { description: "no content" };
    case "redirect":
      return { description: "redirect", headers: { Location: { schema: { type: "string" } } } };
    case "text":
      return { description: "text", content: { "text/plain": { schema: { type: "string" } } } };
    case "sse":
      return {
        description: "server-sent events",
        content: { "text/event-stream": { schema: { type: "string" } } },
      };
    case "metrics":
      return {
        description: "Prometheus text exposition format",
        content: { "text/plain": { schema: { type: "string" } } },
      };
    case "yaml":
      return {
        description: "YAML",
        content: { "application/yaml": { schema: { type: "string" } } },
      };
    case "asset":
    case "html":
      return { description: "a static file", content: { "*/*": { schema: {} } } };
    default:
      return { description: "success", content: { "application/json": { schema: shape } } };
  }
}

function operation<P>(r: RouteDef<P>, s: RouteSchema | undefined): Json {
  const pathParams = [...r.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  const query = (s?.query ?? []).map((p) => ({
    name: p.name,
    in: "query",
    required: false,
    description: p.description,
    schema: p.schema,
  }));
  const responses: Json = {};
  for (const [status, shape] of Object.entries(s?.responses ?? {})) {
    responses[status] = successResponse(shape);
  }
  if (s?.body || s?.form || query.length > 0) responses["400"] ??= error("invalid request");
  if (r.access !== "public") {
    responses["401"] ??= error("no valid credentials");
    responses["403"] ??= error("credentials do not allow this");
  }
  if (pathParams.length > 0) responses["404"] ??= error("not found");
  if (s?.body) responses["413"] ??= error("body too large");
  responses["default"] = error("unexpected error");
  const op: Json = {
    operationId: `${r.method.toLowerCase()}${
      r.path.replace(/[:{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, c) => (c ?? "").toUpperCase())
    }`,
    summary: r.summary,
    description: `Access: ${r.access}. ${ACCESS_NOTE[r.access]}`,
    "x-despacito-access": r.access,
    security: SECURITY[r.access],
    parameters: [...pathParams, ...query],
    responses,
  };
  if (s?.body) {
    op.requestBody = { required: true, content: { "application/json": { schema: s.body } } };
  }
  if (s?.form) {
    op.requestBody = {
      required: true,
      content: { "application/x-www-form-urlencoded": { schema: s.form } },
    };
  }
  return op;
}

export function buildOpenApi<P>(routes: RouteDef<P>[], version: string): Json {
  const paths: Record<string, Json> = {};
  const missing: string[] = [];
  for (const r of routes) {
    const key = `${r.method} ${r.path}`;
    const s = ROUTE_SCHEMAS[key];
    if (!s) missing.push(key);
    const path = r.path.replace(/:([A-Za-z_]+)/g, "{$1}");
    (paths[path] ??= {})[r.method.toLowerCase()] = operation(r, s);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "despacito",
      version,
      description: "Continuous delivery for NixOS fleets. Errors are always " +
        '`{"error":{"code","message","details"?}}`; see README for each route\'s contract.',
    },
    paths,
    components: {
      schemas: COMPONENTS,
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "`Authorization: Bearer <token>`" },
        session: {
          type: "apiKey",
          in: "cookie",
          name: "__Host-despacito_session",
          description:
            "A signed-in browser; writes also need a same-origin Sec-Fetch-Site or Origin header.",
        },
        forgeSignature: {
          type: "apiKey",
          in: "header",
          name: "X-Forgejo-Signature",
          description: "HMAC-SHA256 of the body with the repository's webhook secret.",
        },
      },
    },
    "x-missing-schemas": missing,
  };
}
