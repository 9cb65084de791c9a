/** Sign in: one button per OIDC provider, the local form when local accounts are on, clear errors. */

import { useEffect, useRef } from "preact/hooks";
import { useSignal } from "@preact/signals";
import { api, ApiError, describeError } from "../api.ts";
import { ErrorNote, Loading } from "../components.tsx";
import { useLoad } from "../load.ts";
import { navigate, place, safeReturnTo } from "../router.ts";
import { me } from "../session.ts";
import { formatWait } from "../time.ts";
import { providerError } from "../signin_errors.ts";

export function SignIn() {
  const q = place.value.query;
  const returnTo = safeReturnTo(q.get("return_to"));
  const methods = useLoad(api.authMethods, "auth-methods");
  const error = useSignal<string | null>(q.has("error") ? providerError(q) : null);
  const username = useSignal("");
  const password = useSignal("");
  const busy = useSignal(false);
  const waitUntil = useSignal(0);
  const now = useSignal(Date.now());
  const passwordField = useRef<HTMLInputElement>(null);
  const waiting = waitUntil.value > now.value;
  useEffect(() => {
    if (!waiting) {
      // The wait is over: the "too many attempts" note no longer holds.
      if (waitUntil.value) {
        waitUntil.value = 0;
        error.value = null;
      }
      return;
    }
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
      // The CLI's consent page (/oauth/authorize) is served by the server, not by this app.
      if (returnTo.startsWith("/oauth/")) location.replace(returnTo);
      else navigate(returnTo, { replace: true });
    } catch (err) {
      password.value = "";
      error.value = loginError(err);
      if (err instanceof ApiError && err.code === "rate_limited") {
        const s = err.retryAfter ?? 60;
        // Said once in the alert (read out once); the disabled button counts down.
        error.value += ` You can try again in ${formatWait(s)}.`;
        waitUntil.value = Date.now() + s * 1000;
        now.value = Date.now();
      }
      // Ready for the next try without reaching for the mouse.
      requestAnimationFrame(() => passwordField.current?.focus());
    } finally {
      busy.value = false;
    }
  };

  const m = methods.data.value;
  const seconds = (waitUntil.value - now.value) / 1000;
  return (
    <main id="main" class="signin">
      <h1>Sign in to despacito</h1>
      <ErrorNote message={error.value} />
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
              ref={passwordField}
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password.value}
              onInput={(e) => (password.value = e.currentTarget.value)}
            />
          </label>
          <button type="submit" class="primary" disabled={busy.value || waiting}>
            {busy.value
              ? "Signing in…"
              : waiting
              ? `Try again in ${formatWait(seconds)}`
              : "Sign in"}
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
