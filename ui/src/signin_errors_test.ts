import assert from "node:assert/strict";
import { providerError } from "./signin_errors.ts";

const q = (s: string) => new URLSearchParams(s);

Deno.test("providerError() words what /auth/login and /auth/callback send back", () => {
  assert.equal(
    providerError(q("error=provider_unavailable&message=the+sign-in+provider+SSO+is+down")),
    "Sign-in failed: The sign-in provider SSO is down.",
  );
  assert.equal(
    providerError(q("error=provider_refused&message=the+provider+refused%3A+access_denied.")),
    "Sign-in failed: The provider refused: access_denied.",
  );
  assert.equal(
    providerError(q("error=login_not_started&message=whatever")),
    "Sign-in failed: That sign-in attempt expired or was already used. Start again.",
  );
  assert.equal(
    providerError(q("error=rate_limited&message=too+many&retry_after=97")),
    "Too many sign-in attempts from here. Try again in 1 min 37 s.",
  );
  assert.equal(providerError(q("error=mystery")), "Sign-in failed: Mystery.");
});
