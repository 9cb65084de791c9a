/**
 * The request and response schemas of every route, keyed "METHOD path"
 * exactly as the route table declares it. The OpenAPI document joins this
 * with the route table (method, path, access, summary); a route missing
 * here fails tests/ops_openapi_test.ts, and that test also checks real
 * responses against these schemas, so they cannot drift far from the code.
 * JSON Schema 2020-12 (OpenAPI 3.1). Error bodies are added per route by
 * openapi.ts from the route's access and parameters.
 */

type Schema = Record<string, unknown>;

export interface QueryParam {
  name: string;
  description: string;
  schema: Schema;
}

export interface RouteSchema {
  query?: QueryParam[];
  /** JSON request body. */
  body?: Schema;
  /** Form request body (application/x-www-form-urlencoded: OAuth's endpoints). */
  form?: Schema;
  /** Success responses by status; "text" and "sse" bodies are not JSON. */
  responses: Record<
    string,
    Schema | "text" | "sse" | "redirect" | "empty" | "metrics" | "html" | "asset" | "yaml"
  >;
}

const str = { type: "string" };
const nstr = { type: ["string", "null"] };
const int = { type: "integer" };
const bool = { type: "boolean" };
const time = { type: "string", format: "date-time" };
const ntime = { type: ["string", "null"], format: "date-time" };
const obj = (properties: Record<string, unknown>, required = Object.keys(properties)): Schema => ({
  type: "object",
  properties,
  required,
});
const arr = (items: unknown) => ({ type: "array", items });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
/** A 409 names the live deployment, or is an error (package_held, not_retryable, …). */
const conflict = (answer: string) => ({ anyOf: [ref(answer), ref("Error")] });

/** Shared shapes, emitted under components.schemas. */
export const COMPONENTS: Record<string, Schema> = {
  Error: obj({
    error: obj({
      code: str,
      message: str,
      details: arr(obj({ field: str, message: str })),
    }, ["code", "message"]),
  }),
  Token: obj({
    id: str,
    description: str,
    packages: { type: ["array", "null"], items: str },
    created_at: time,
    expires_at: ntime,
    revoked_at: ntime,
    last_used_at: ntime,
  }),
  Deployment: obj({
    id: str,
    package: str,
    version: str,
    nix_store_path: nstr,
    flake_ref: nstr,
    status: {
      enum: ["queued", "running", "deployed", "failed", "superseded", "cancelled", "interrupted"],
    },
    triggered_by: obj({ kind: str, id: nstr, label: nstr }),
    created_at: time,
    started_at: ntime,
    finished_at: ntime,
    steps: arr(obj({ name: str, started_at: time, finished_at: ntime, status: str })),
    nodes: arr(ref("NodeOutcome")),
    error: nstr,
    failure_kind: { enum: ["failure", "error", null] },
    failure_code: nstr,
    superseded_by: nstr,
    cancel_requested: bool,
    // DESPACITO_FLAKE_REMOTE: did the commits reach it (null: no remote or no commit).
    pushed: { type: ["boolean", "null"] },
    kind: { enum: ["deploy", "rollback"] },
    rollback_to: nstr,
    retry_of: nstr,
    targets: nstr,
    awaiting_promotion: nstr,
    checks: arr(obj({
      name: str,
      kind: { enum: ["http", "command"] },
      target: str,
      attempts: int,
      result: { enum: ["passed", "failed"] },
      duration_ms: int,
      message: nstr,
    }, ["name", "kind", "target", "attempts", "result", "duration_ms", "message"])),
    rollback: {
      oneOf: [
        { type: "null" },
        obj({
          status: { enum: ["ok", "failed", "skipped"] },
          commit_sha: nstr,
          nodes: arr(ref("NodeOutcome")),
          message: nstr,
        }),
      ],
    },
  }),
  NodeOutcome: obj({ node: str, status: str }),
  /** GET /api/nodes and POST /api/nodes/refresh. */
  Nodes: obj({
    nodes: arr(obj({
      node: str,
      tags: arr(str),
      commit: nstr,
      deployment_id: nstr,
      activated_at: ntime,
      outcome: { enum: ["activated", "rolled_back", "failed", "rollback_failed", "observed"] },
      packages: { type: "object", additionalProperties: str },
      expected_system: nstr,
      running_system: nstr,
      drift: { type: ["boolean", "null"] },
      reachable: { type: ["boolean", "null"] },
      checked_at: ntime,
    })),
  }),
  WebhookAnswer: obj({ status: str, package: str, version: str, deployment_id: str }),
  /** POST /api/deployments/:id/retry and /api/packages/:name/rollback: queued, or the live one. */
  QueuedAnswer: obj({
    status: str,
    package: str,
    version: str,
    deployment_id: str,
    kind: { enum: ["deploy", "rollback"] },
  }),
  Repository: obj({
    id: str,
    forge_url: str,
    owner: str,
    repo: str,
    package: str,
    trigger: { enum: ["release", "tag"] },
    source_url: nstr,
    token: obj({ set: bool, last4: str }),
    secret: obj({ set: bool, last4: str, rotating_until: ntime }),
    created_at: time,
  }),
  AuditEntry: obj({
    id: int,
    at: time,
    actor: obj({ kind: str, id: nstr, label: nstr }),
    action: str,
    target: nstr,
    request_id: nstr,
    client_address: nstr,
    details: { type: "object" },
    prev_hash: str,
    hash: str,
  }),
  Providers: obj({ providers: arr(obj({ issuer: str, name: str })) }),
};

/** What the deploy area adds to readiness: DESPACITO_HA's roles, DESPACITO_FLAKE_REMOTE's state. */
const READY_INFO = {
  instance: str,
  leader: nstr,
  role: { enum: ["leader", "follower"] },
  flake_remote: obj({
    url: str,
    branch: str,
    unpushed_commits: int,
    behind: bool,
    last_error: nstr,
  }),
};

const q = (name: string, description: string, schema: Schema = str): QueryParam => ({
  name,
  description,
  schema,
});

export const ROUTE_SCHEMAS: Record<string, RouteSchema> = {
  "GET /health": {
    responses: { 200: obj({ status: { const: "ok" }, version: str, commit: str }) },
  },
  "GET /health/ready": {
    responses: {
      200: obj({ status: { const: "ready" }, version: str, ...READY_INFO }, ["status", "version"]),
      503: obj({ status: { const: "unavailable" }, reason: str, ...READY_INFO }, [
        "status",
        "reason",
      ]),
    },
  },
  "POST /api/tokens": {
    body: obj({
      description: { type: "string", minLength: 1, maxLength: 200 },
      expires_in: { type: "string", description: "a duration such as 30d" },
      packages: {
        ...arr(str),
        description: "inputs of the deployment flake; another name: 422 unknown_package",
      },
    }, ["description"]),
    responses: {
      201: { allOf: [ref("Token"), obj({ token: { type: "string", description: "shown once" } })] },
    },
  },
  "GET /api/tokens": { responses: { 200: obj({ tokens: arr(ref("Token")) }) } },
  "DELETE /api/tokens/:id": { responses: { 204: "empty" } },
  "GET /api/me": {
    responses: {
      200: {
        oneOf: [
          obj({ kind: { const: "token" }, token: obj({ id: str, description: str }) }),
          obj({
            kind: { const: "session" },
            user: obj({ id: str, issuer: str, username: nstr, email: nstr, display_name: nstr }),
          }),
        ],
      },
    },
  },
  "GET /api/auth/methods": {
    responses: { 200: obj({ local: bool, providers: arr(obj({ issuer: str, name: str })) }) },
  },
  "GET /api/oidc/providers": { responses: { 200: ref("Providers") } },
  "GET /auth/login": {
    query: [q("issuer", "the issuer to sign in with"), q("return_to", "a local path")],
    responses: { 302: "redirect" },
  },
  "GET /auth/callback": {
    query: [q("code", "authorization code"), q("state", "the transaction's state")],
    responses: { 302: "redirect" },
  },
  "POST /auth/local/login": {
    body: obj({ username: str, password: str }),
    responses: { 200: obj({ user: obj({ id: str, username: nstr }) }, ["user"]) },
  },
  "POST /auth/logout": { responses: { 204: "empty" } },
  "GET /.well-known/oauth-authorization-server": {
    responses: {
      200: obj({
        issuer: str,
        authorization_endpoint: str,
        token_endpoint: str,
        revocation_endpoint: str,
        response_types_supported: arr(str),
        grant_types_supported: arr(str),
        code_challenge_methods_supported: arr(str),
        token_endpoint_auth_methods_supported: arr(str),
        revocation_endpoint_auth_methods_supported: arr(str),
      }),
    },
  },
  "GET /oauth/authorize": {
    query: ["response_type", "client_id", "redirect_uri", "state", "code_challenge"].map((n) =>
      q(n, "OAuth 2.1 authorization request (PKCE S256, loopback redirect_uri)")
    ).concat([q("code_challenge_method", "S256", { const: "S256" })]),
    responses: { 200: "html", 302: "redirect", 303: "redirect" },
  },
  "GET /oauth/consent.css": { responses: { 200: "asset" } },
  "POST /oauth/authorize": {
    form: obj({
      response_type: str,
      client_id: str,
      redirect_uri: str,
      state: str,
      code_challenge: str,
      code_challenge_method: { const: "S256" },
      decision: { enum: ["allow", "deny"] },
    }),
    responses: { 303: "redirect" },
  },
  "POST /oauth/token": {
    form: obj({
      grant_type: { enum: ["authorization_code", "refresh_token"] },
      client_id: str,
      code: str,
      redirect_uri: str,
      code_verifier: str,
      refresh_token: str,
    }, ["grant_type", "client_id"]),
    responses: {
      200: obj({
        access_token: str,
        token_type: { const: "Bearer" },
        expires_in: int,
        refresh_token: str,
      }),
    },
  },
  "POST /oauth/revoke": {
    form: obj({ token: str, token_type_hint: str, client_id: str }, ["token", "client_id"]),
    responses: { 200: "empty" },
  },
  "GET /api/cli-sessions": {
    responses: {
      200: obj({
        cli_sessions: arr(obj({
          id: str,
          client_id: str,
          client_name: str,
          created_at: time,
          last_used_at: time,
          expires_at: time,
          client_address: nstr,
          user_agent: nstr,
          current: bool,
        })),
      }),
    },
  },
  "DELETE /api/cli-sessions/:id": { responses: { 204: "empty" } },
  "POST /api/repositories": {
    body: obj({
      forge_url: str,
      owner: str,
      repo: str,
      package: str,
      token: { type: "string", description: "forge API token (stored sealed)" },
      trigger: { enum: ["release", "tag"] },
      source_url: str,
    }, ["forge_url", "owner", "repo", "package", "token"]),
    responses: { 201: obj({ repository: ref("Repository"), webhook: { type: "object" } }) },
  },
  "GET /api/repositories": { responses: { 200: obj({ repositories: arr(ref("Repository")) }) } },
  "GET /api/repositories/:id": { responses: { 200: ref("Repository") } },
  "DELETE /api/repositories/:id": {
    responses: { 200: obj({ deleted: { const: true }, webhook_removed: bool }) },
  },
  "POST /api/repositories/:id/rotate-secret": {
    responses: { 200: obj({ secret: str, previous_valid_until: time, webhook_updated: bool }) },
  },
  "GET /api/forge/status-posts": {
    query: [q("deployment_id", "the deployment (uuid)")],
    responses: { 200: obj({ status_posts: arr({ type: "object" }) }) },
  },
  "POST /webhook/forgejo/:id": {
    body: { type: "object", description: "the forge's release or tag event" },
    responses: { 200: { type: "object" }, 202: { type: "object" } },
  },
  "GET /assets/:file": { responses: { 200: "asset" } },
  "POST /webhook": {
    query: [q("wait", "false: answer 202 at once", { enum: ["true", "false"] })],
    body: obj({ package: str, version: str, nix_store_path: str, flake_ref: str }, [
      "package",
      "version",
    ]),
    responses: {
      200: ref("WebhookAnswer"),
      202: ref("WebhookAnswer"),
      409: conflict("WebhookAnswer"),
      429: ref("Error"),
    },
  },
  "GET /api/deployments": {
    query: [
      q("package", "only this package"),
      q("status", "comma-separated statuses"),
      q("version", "versions containing this text"),
      q("node", "deployments that reported an outcome for this node"),
      q("limit", "1 to 200 (default 50)"),
      q("cursor", "next_cursor of the previous page"),
    ],
    responses: { 200: obj({ deployments: arr(ref("Deployment")), next_cursor: nstr }) },
  },
  "GET /api/deployments/:id": { responses: { 200: ref("Deployment") } },
  "GET /api/deployments/:id/log": { responses: { 200: "text" } },
  "GET /api/deployments/:id/lines": {
    responses: {
      200: obj({
        lines: arr(obj({
          seq: int,
          stream: { enum: ["stdout", "stderr", "system"] },
          line: str,
          at: time,
        })),
      }),
    },
  },
  "GET /api/deployments/:id/events": { responses: { 200: "sse" } },
  "POST /api/deployments/:id/cancel": {
    responses: { 202: obj({ status: str, deployment_id: str }) },
  },
  "POST /api/deployments/:id/retry": {
    responses: { 202: ref("QueuedAnswer"), 409: conflict("QueuedAnswer") },
  },
  "POST /api/packages/:name/rollback": {
    body: obj({ deployment_id: { type: "string", format: "uuid" } }),
    responses: { 202: ref("QueuedAnswer"), 409: conflict("QueuedAnswer") },
  },
  "POST /api/packages/:name/release": {
    responses: {
      200: obj({ status: { const: "released" }, package: str, held_by: str, reason: str }),
    },
  },
  "GET /api/nodes": { responses: { 200: ref("Nodes") } },
  "POST /api/nodes/refresh": { responses: { 200: ref("Nodes") } },
  "POST /api/deployments/:id/promote": {
    responses: {
      202: obj({ status: { const: "promoting" }, deployment_id: str }),
    },
  },
  "GET /api/packages": {
    responses: {
      200: obj({
        packages: arr(obj({
          name: str,
          declared_url: nstr,
          locked_rev: nstr,
          current_version: nstr,
          store_path: nstr,
          deployed_at: ntime,
          deployment_id: nstr,
          last_status: nstr,
          last_deployment_id: nstr,
          held: {
            oneOf: [{ type: "null" }, obj({ deployment_id: str, reason: str, held_at: time })],
          },
        })),
      }),
    },
  },
  "GET /metrics": { responses: { 200: "metrics" } },
  "GET /api/health/load": {
    responses: {
      200: obj({
        level: { enum: ["low", "medium", "high"] },
        queued: int,
        running: int,
        waiting_clients: int,
        p95_ms: int,
        p99_ms: int,
        window_s: int,
      }),
    },
  },
  "GET /api/audit": {
    query: [
      q("action", "one audit action"),
      q("actor", "actor id or label"),
      q("target", "e.g. token:<id>"),
      q("since", "ISO 8601 time (inclusive)"),
      q("until", "ISO 8601 time (exclusive)"),
      q("cursor", "next_cursor of the previous page"),
      q("limit", "1 to 500 (default 100)"),
    ],
    responses: { 200: obj({ entries: arr(ref("AuditEntry")), next_cursor: nstr }) },
  },
  "GET /api/audit/verify": {
    responses: {
      200: obj({
        ok: bool,
        rows: int,
        head: { oneOf: [{ type: "null" }, obj({ id: int, hash: str })] },
        problem: {
          oneOf: [{ type: "null" }, obj({ row_id: int, kind: str, message: str })],
        },
      }),
    },
  },
  "GET /api/state/export": { responses: { 200: "yaml" } },
  "GET /api/deployments/:id/notifications": {
    responses: {
      200: obj({
        notifications: arr(obj({
          id: str,
          target: str,
          event: str,
          state: { enum: ["pending", "delivered", "failed"] },
          attempts: arr(obj({
            attempt: int,
            at: time,
            http_status: { type: ["integer", "null"] },
            error: nstr,
            duration_ms: int,
          })),
          last_error: nstr,
          created_at: time,
          delivered_at: ntime,
          next_attempt_at: ntime,
        })),
      }),
    },
  },
  "GET /api/openapi.json": { responses: { 200: { type: "object" } } },
};
