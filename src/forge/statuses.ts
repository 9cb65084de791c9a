/**
 * Commit statuses: every deployment of a connected package whose source
 * commit is known gets `pending`, then `success`, `failure` or `error`, on
 * that commit, context `despacito/<package>`, linking to the deployment.
 * Posting runs beside the deployment, never inside it: a status event only
 * schedules work, passing failures are retried with backoff and recorded in
 * forge_status_post, and nothing here can fail or delay a deployment. A
 * failure only the operator can fix (token rejected or read-only: 401/403;
 * repository moved: 307) is not retried and is set as the connection's
 * problem, shown on the repository until a later post succeeds.
 */

import { formatDuration } from "../core/duration.ts";
import { readSecret } from "../secrets/store.ts";
import { ForgeRequestError, type StatusSpec } from "./client.ts";
import { credentialProblem } from "./connection_input.ts";
import type { ForgeDeps } from "./deps.ts";
import type { DeploymentStatusEvent } from "./ports.ts";
import { sourceCommit } from "./source_check.ts";
import { insertStatusPost, recordStatusAttempt, type StatusAttempt } from "./status_store.ts";
import { type Connection, connectionForPackage, setConnectionProblem } from "./store.ts";

export interface StatusPoster {
  /** Schedules the status for one deployment event; never throws. */
  handle(e: DeploymentStatusEvent): void;
  /** Resolves when everything scheduled so far has finished (posted, failed or abandoned). */
  settled(): Promise<void>;
  /** Stops retrying; unfinished posts are recorded as abandoned. */
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 5 * 60_000;

export function stateOf(e: DeploymentStatusEvent): StatusSpec["state"] {
  switch (e.status) {
    case "queued":
    case "running":
      return "pending";
    case "deployed":
      return "success";
    case "failed":
      return e.failureKind ?? "failure";
    default:
      return e.failureKind ?? "error";
  }
}

export function describe(e: DeploymentStatusEvent, state: StatusSpec["state"]): string {
  const took = e.finishedAt
    ? formatDuration(e.finishedAt.getTime() - (e.startedAt ?? e.createdAt).getTime())
    : "";
  const line = state === "pending"
    ? `Deploying ${e.version}${e.status === "queued" ? " (queued)" : ""}`
    : state === "success"
    ? `Deployed ${e.version} in ${took}`
    : state === "failure"
    ? `Deployment of ${e.version} failed after ${took}`
    // "failed" says nothing the state does not; cancelled/interrupted/superseded do.
    : `Could not deploy ${e.version}${e.status === "failed" ? "" : ` (${e.status})`} after ${took}`;
  return line.replace(/\s+/g, " ").slice(0, 140);
}

export function createStatusPoster(deps: ForgeDeps): StatusPoster {
  const log = deps.log.child({ component: "forge" });
  const stopping = new AbortController();
  /** Per deployment: the tail of its serial chain, the states already scheduled, a generation. */
  const chains = new Map<string, { tail: Promise<void>; states: Set<string>; gen: number }>();
  const all = new Set<Promise<void>>();
  const knownCommit = (e: DeploymentStatusEvent) =>
    e.lockedRev !== null ||
    (e.flakeRef !== null && deps.ports.parseSource(e.flakeRef)?.rev !== undefined);

  function handle(e: DeploymentStatusEvent) {
    try {
      const state = stateOf(e);
      // No commit known yet (a queued runner deployment without rev=): wait for the locked
      // rev, which a later event of the same deployment carries, before claiming `pending`.
      if (!knownCommit(e)) {
        log.debug("deployment event without a source commit; no status for it", {
          deployment_id: e.deploymentId,
          package: e.package,
          status: e.status,
        });
        return;
      }
      const chain = chains.get(e.deploymentId) ??
        { tail: Promise.resolve(), states: new Set(), gen: 0 };
      chains.set(e.deploymentId, chain);
      // pending once (queued or running, whichever comes first), each final state once.
      if (chain.states.has(state)) return;
      chain.states.add(state);
      const gen = ++chain.gen;
      const superseded = () => chain.gen !== gen || stopping.signal.aborted;
      const job = chain.tail.then(() => post(e, state, superseded)).catch((err) =>
        log.error("commit status post crashed", { deployment_id: e.deploymentId, error: err })
      );
      chain.tail = job;
      all.add(job);
      job.finally(() => {
        all.delete(job);
        if (state !== "pending" && chain.tail === job) chains.delete(e.deploymentId);
      });
    } catch (err) {
      log.error("commit status scheduling failed", { deployment_id: e.deploymentId, error: err });
    }
  }

  async function post(
    e: DeploymentStatusEvent,
    state: StatusSpec["state"],
    superseded: () => boolean,
  ) {
    const c = await connectionForPackage(deps.sql, e.package);
    if (!c) return;
    const found = await sourceCommit(deps, c, e);
    if ("skip" in found) {
      log.info("no source commit of the connected repository known; no status", {
        deployment_id: e.deploymentId,
        package: e.package,
        reason: found.skip,
      });
      return;
    }
    const sha = found.sha;
    const spec: StatusSpec = {
      state,
      context: `despacito/${e.package}`,
      description: describe(e, state),
      targetUrl: `${deps.config.baseUrl}/deployments/${e.deploymentId}`,
    };
    const postId = await insertStatusPost(deps.sql, {
      connectionId: c.id,
      deploymentId: e.deploymentId,
      sha,
      state,
      description: spec.description,
      targetUrl: spec.targetUrl!,
    });
    const record = (a: StatusAttempt) => recordStatusAttempt(deps.sql, postId, a);
    const ctx = {
      deployment_id: e.deploymentId,
      package: e.package,
      version: e.version,
      state,
      sha,
    };

    let token: string;
    try {
      token = await readSecret(deps.sql, deps.sealer, c.tokenSecretId);
    } catch (err) {
      await record({
        attempts: 0,
        ok: false,
        error: `cannot open the stored token: ${(err as Error).message}`,
        httpStatus: null,
      });
      log.error("commit status not posted: cannot open the stored token", { ...ctx, error: err });
      return;
    }
    const client = deps.clientFor(c.forgeUrl, token);
    let delay = deps.config.forgeStatusBackoffMs;
    for (let attempt = 1;; attempt++) {
      try {
        await client.postStatus(c.owner, c.repo, sha, spec);
        // The problem first: once the post reads as settled, the connection is up to date.
        await noteProblem(c, null);
        await record({ attempts: attempt, ok: true, error: null, httpStatus: 201 });
        log.info("commit status posted", { ...ctx, attempts: attempt });
        return;
      } catch (err) {
        const fe = err instanceof ForgeRequestError ? err : undefined;
        const error = fe?.message ?? (err instanceof Error ? err.message : String(err));
        const last = !fe?.transient || attempt >= deps.config.forgeStatusAttempts;
        const status = fe?.status ?? null;
        const problem = credentialProblem(err, `${c.forgeUrl} (${c.owner}/${c.repo})`);
        if (problem) {
          await noteProblem(c, problem);
          await record({
            attempts: attempt,
            ok: false,
            error: `${problem.code}: ${problem.message}`,
            httpStatus: status,
          });
          log.warn("commit status not posted: the connection needs the operator", {
            ...ctx,
            code: problem.code,
            error,
          });
          return;
        }
        if (last) {
          await record({
            attempts: attempt,
            ok: false,
            error: `gave up after ${attempt} attempt(s): ${error}`,
            httpStatus: status,
          });
          log.warn("commit status not posted", { ...ctx, attempts: attempt, error });
          return;
        }
        await record({ attempts: attempt, ok: null, error, httpStatus: status });
        log.info("commit status post failed; retrying", {
          ...ctx,
          attempts: attempt,
          error,
          retry_in_ms: delay,
        });
        await wait(delay, stopping.signal);
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
        if (superseded()) {
          const why = stopping.signal.aborted
            ? "abandoned at shutdown"
            : "superseded by a newer state";
          await record({
            attempts: attempt,
            ok: false,
            error: `${why}: ${error}`,
            httpStatus: status,
          });
          return;
        }
      }
    }
  }

  /** Sets or clears the connection's problem, logging only when it changes. */
  async function noteProblem(c: Connection, problem: ReturnType<typeof credentialProblem> | null) {
    if (problem === null && c.problemCode === null) return;
    if (await setConnectionProblem(deps.sql, c.id, problem ?? null)) {
      log.info(problem ? "repository connection has a problem" : "repository problem cleared", {
        connection_id: c.id,
        code: problem?.code ?? c.problemCode,
      });
    }
  }

  return {
    handle,
    settled: async () => {
      while (all.size > 0) await Promise.allSettled([...all]);
    },
    stop: async () => {
      stopping.abort();
      await Promise.allSettled([...all]);
    },
  };
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
