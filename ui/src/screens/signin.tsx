/** Sign in: one button per OIDC provider, the local form when local accounts are on, clear errors. */

import { useEffect } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { api, ApiError, describeError } from "../api.ts";
import { ErrorNote, Loading } from "../components.tsx";
import { useLoad } from "../load.ts";
import { navigate, place, safeReturnTo } from "../router.ts";
import { me } from "../session.ts";

const PROVIDER_ERRORS: Record<string, string> = {
  provider_unavailable: "The sign-in provider did not answer. Try again in a moment.",
  access_denied: "The sign-in provider refused the sign-in.",
  state_mismatch: "That sign-in attempt expired or was already used. Start again.",
};

export function SignIn() {
  const q = place.value.query;
  const returnTo = safeReturnTo(q.get("return_to"));
  const methods = useLoad(api.authMethods, "auth-methods");
  const queryError = q.get("error");
  const error = useSignal<string | null>(
    queryError
      ? `Sign-in failed: ${PROVIDER_ERRORS[queryError] ?? q.get("message") ?? queryError}`
      : null,
  );
  const username = useSignal("");
  const password = useSignal("");
  const busy = useSignal(false);
  const waitUntil = useSignal(0);
  const now = useSignal(Date.now());
  const waiting = waitUntil.value > now.value;
  useEffect(() => {
    if (!waiting) return;
    const t = setInterval(() => (now.value = Date.now()), 1000);
    return () => clearInterval(t);
  }, [waiting]);

  const submit = async (e: Event) => {
    e.preventDefault();
    busy.value = true;
    error.value = null;
    try {
      await api.localLogin(username.value, password.value);
      password.value = "";
      me.value = undefined;
      navigate(returnTo, { replace: true });
    } catch (err) {
      password.value = "";
      if (err instanceof ApiError && err.code === "rate_limited") {
        const s = err.retryAfter ?? 60;
        waitUntil.value = Date.now() + s * 1000;
        now.value = Date.now();
      }
      error.value = loginError(err);
    } finally {
      busy.value = false;
    }
  };

  const m = methods.data.value;
  const seconds = Math.ceil((waitUntil.value - now.value) / 1000);
  return (
    <main id="main" class="signin">
      <h1>Sign in to despacito</h1>
      <ErrorNote message={error.value} />
      {waiting && <p class="warning" role="status">You can try again in {seconds} s.</p>}
      {methods.error.value && (
        <ErrorNote message={`Could not load the sign-in methods: ${methods.error.value}`} />
      )}
      {!m && !methods.error.value && <Loading />}
      {m && m.providers.length > 0 && (
        <div class="providers">
          {m.providers.map((p) => (
            <button
              key={p.issuer}
              type="button"
              class="primary"
              onClick={() => location.assign(api.providerLoginUrl(p.issuer, returnTo))}
            >
              Sign in with {p.name}
            </button>
          ))}
        </div>
      )}
      {m?.local && (
        <form class="card" onSubmit={submit}>
          {m.providers.length > 0 && <p class="muted">Or with a local account:</p>}
          <label>
            Username
            <input
              name="username"
              autoComplete="username"
              required
              value={username.value}
              onInput={(e) => (username.value = e.currentTarget.value)}
            />
          </label>
          <label>
            Password
            <input
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password.value}
              onInput={(e) => (password.value = e.currentTarget.value)}
            />
          </label>
          <button type="submit" class="primary" disabled={busy.value || waiting}>
            {busy.value ? "Signing in…" : "Sign in"}
          </button>
        </form>
      )}
      {m && !m.local && m.providers.length === 0 && (
        <p>No sign-in method is configured on this server. Ask its operator.</p>
      )}
    </main>
  );
}

function loginError(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === "invalid_credentials") return "Wrong username or password.";
    if (e.code === "rate_limited") {
      return "Too many sign-in attempts from here.";
    }
    if (e.code === "local_auth_disabled") return "Local accounts are turned off on this server.";
    if (e.status === 0 || e.status >= 500) {
      return `Sign-in is unavailable right now: ${e.message}`;
    }
  }
  return describeError(e);
}
