import assert from "node:assert/strict";
import { checkAuthorizeRequest, loopbackProblem, redirectBack } from "./oauth_request.ts";

const base = {
  response_type: "code",
  client_id: "despacito-cli",
  redirect_uri: "http://127.0.0.1:5000/callback",
  state: "abc",
  code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
  code_challenge_method: "S256",
};
const check = (over: Record<string, string> = {}, extra: [string, string][] = []) => {
  const p = new URLSearchParams({ ...base, ...over });
  for (const [k, v] of extra) p.append(k, v);
  return checkAuthorizeRequest(p, (id) => id === "despacito-cli");
};

Deno.test("loopbackProblem() accepts only http on 127.0.0.1 or [::1] with a port", () => {
  assert.equal(loopbackProblem("http://127.0.0.1:1/cb"), undefined);
  assert.equal(loopbackProblem("http://[::1]:65535/"), undefined);
  for (
    const bad of [
      "https://127.0.0.1:1/cb",
      "http://localhost:1/cb",
      "http://127.0.0.1/cb",
      "http://127.0.0.2:1/cb",
      "http://user:pw@127.0.0.1:1/cb",
      "http://127.0.0.1:1/cb#x",
      "http://127.0.0.1.nip.io:1/",
      "not a url",
    ]
  ) assert.ok(loopbackProblem(bad), bad);
});

Deno.test("checkAuthorizeRequest() shows client and redirect problems, sends the rest back", () => {
  assert.ok(check().ok);
  const shown = [
    check({ client_id: "other" }),
    check({ redirect_uri: "https://evil.example/cb" }),
    check({ state: "a\u0000b" }),
  ];
  for (const r of shown) assert.ok(!r.ok && r.show, JSON.stringify(r));
  const back = (r: ReturnType<typeof check>) => (!r.ok && !r.show ? r.error : "not sent back");
  assert.equal(back(check({ response_type: "token" })), "unsupported_response_type");
  assert.equal(back(check({ code_challenge_method: "plain" })), "invalid_request");
  assert.equal(back(check({ code_challenge: "short" })), "invalid_request");
  assert.equal(back(check({ state: "" })), "invalid_request");
  assert.equal(back(check({}, [["state", "again"]])), "invalid_request");
});

Deno.test("redirectBack() adds the answer to the redirect URI's own query", () => {
  assert.equal(
    redirectBack("http://127.0.0.1:9/cb?x=1", { code: "c", state: "s", error: undefined }),
    "http://127.0.0.1:9/cb?x=1&code=c&state=s",
  );
});
