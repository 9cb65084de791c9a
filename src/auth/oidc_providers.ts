/**
 * The configured OpenID providers and their discovered metadata. Discovery
 * runs in the background with exponential backoff, so a provider that is
 * down at start neither delays nor stops despacito or the other providers;
 * a sign-in attempt against a provider still undiscovered triggers one
 * immediate try. Owns nothing else: the login flow lives in oidc_login.ts.
 */

import type * as OpenId from "openid-client";

import { DomainError } from "../core/errors.ts";
import type { Logger } from "../log/log.ts";
import type { ProviderSpec } from "./oidc_config.ts";

// Loaded on first use: only servers with OIDC providers need it, and start faster without it.
const openid = () => import("openid-client");

export interface ProvidersOptions {
  specs: ProviderSpec[];
  allowHttp: boolean;
  log: Logger;
  /** First retry delay; doubles up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Seconds one discovery request may take. */
  timeoutSeconds?: number;
}

interface Entry {
  spec: ProviderSpec;
  config?: OpenId.Configuration;
  inFlight?: Promise<OpenId.Configuration>;
}

export class OidcProviders {
  readonly #entries = new Map<string, Entry>();
  readonly #options: ProvidersOptions;
  readonly #log: Logger;
  readonly #stop = new AbortController();
  #loops: Promise<void>[] = [];

  constructor(options: ProvidersOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: "oidc" });
    for (const spec of options.specs) this.#entries.set(spec.issuer, { spec });
  }

  list(): { issuer: string; name: string }[] {
    return [...this.#entries.values()].map((e) => ({ issuer: e.spec.issuer, name: e.spec.name }));
  }

  has(issuer: string): boolean {
    return this.#entries.has(issuer);
  }

  /** Starts background discovery for every provider. */
  start(): void {
    this.#loops = [...this.#entries.values()].map((e) => this.#discoverLoop(e));
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled(this.#loops);
  }

  /** The provider's client configuration; 503 provider_unavailable when it cannot be discovered now. */
  async configuration(issuer: string): Promise<OpenId.Configuration> {
    const e = this.#entries.get(issuer);
    if (!e) throw new DomainError("invalid", "unknown_issuer", `unknown OIDC issuer: ${issuer}`);
    if (e.config) return e.config;
    try {
      return await this.#discover(e);
    } catch (err) {
      throw new DomainError(
        "unavailable",
        "provider_unavailable",
        `the sign-in provider ${e.spec.name} cannot be reached right now; try again later`,
        { cause: err, retryAfter: 30 },
      );
    }
  }

  #discover(e: Entry): Promise<OpenId.Configuration> {
    e.inFlight ??= (async () => {
      try {
        const { spec } = e;
        const insecure = this.#options.allowHttp && spec.issuer.startsWith("http:");
        const client = await openid();
        const config = await client.discovery(
          new URL(spec.issuer),
          spec.clientId,
          spec.clientSecret,
          undefined,
          {
            timeout: this.#options.timeoutSeconds ?? 10,
            execute: insecure ? [client.allowInsecureRequests] : [],
          },
        );
        e.config = config;
        this.#log.info("provider discovered", { issuer: spec.issuer });
        return config;
      } finally {
        e.inFlight = undefined;
      }
    })();
    return e.inFlight;
  }

  async #discoverLoop(e: Entry): Promise<void> {
    let delay = this.#options.initialDelayMs ?? 1_000;
    const max = this.#options.maxDelayMs ?? 300_000;
    while (!e.config && !this.#stop.signal.aborted) {
      try {
        await this.#discover(e);
        return;
      } catch (err) {
        if (e.config) return; // an on-demand attempt won meanwhile
        this.#log.warn("provider discovery failed; retrying", {
          issuer: e.spec.issuer,
          retry_in_ms: delay,
          error: err,
        });
      }
      await abortableDelay(delay, this.#stop.signal);
      delay = Math.min(delay * 2, max);
    }
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
