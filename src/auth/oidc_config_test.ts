import assert from "node:assert/strict";
import { loadConfig } from "../config/config.ts";
import { OidcConfigError, oidcSettings } from "./oidc_config.ts";
import { safeReturnTo } from "./oidc_login.ts";

Deno.test("oidcSettings() gives each issuer its own client, name and the shared defaults", () => {
  const s = oidcSettings(loadConfig({
    DESPACITO_BASE_URL: "https://cd.example",
    DESPACITO_OIDC_ISSUER_URLS: "https://git.example, https://id.example/realms/x/",
    DESPACITO_OIDC_CLIENT_ID: "shared",
    DESPACITO_OIDC_CLIENT_SECRET: "s3cret",
    DESPACITO_OIDC_CLIENT_IDS: "https://id.example/realms/x/=own",
    // Secrets may hold "," and "="; entries split only where a new issuer starts.
    DESPACITO_OIDC_CLIENT_SECRETS: "https://id.example/realms/x/=a=b,c",
    DESPACITO_OIDC_PROVIDER_NAMES: "https://git.example=Forgejo",
  }));
  assert.deepEqual(s, {
    redirectUrl: "https://cd.example/auth/callback",
    allowHttp: false,
    providers: [
      {
        issuer: "https://git.example",
        name: "Forgejo",
        clientId: "shared",
        clientSecret: "s3cret",
      },
      {
        issuer: "https://id.example/realms/x/",
        name: "id.example",
        clientId: "own",
        clientSecret: "a=b,c",
      },
    ],
  });
  assert.equal(oidcSettings(loadConfig({})), undefined);
});

Deno.test("oidcSettings() reports every problem at once", () => {
  assert.throws(
    () =>
      oidcSettings(loadConfig({
        DESPACITO_OIDC_ISSUER_URLS: "http://plain.example",
        DESPACITO_OIDC_PROVIDER_NAMES: "https://other.example=X\ngarbage",
      })),
    (e: OidcConfigError) =>
      e instanceof OidcConfigError && e.problems.length === 5 &&
      e.message.includes("DESPACITO_OIDC_ALLOW_HTTP"),
  );
});

Deno.test("safeReturnTo() keeps same-origin paths only", () => {
  assert.equal(safeReturnTo("/deployments?x=1#y"), "/deployments?x=1#y");
  for (const bad of ["//evil.example", "/\\evil.example", "https://evil.example", "x", "/a\nb"]) {
    assert.equal(safeReturnTo(bad), "/", bad);
  }
  assert.equal(safeReturnTo(undefined), "/");
});
