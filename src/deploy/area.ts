/**
 * The deploy area: POST /webhook → pin the flake input → commit → colmena
 * apply, one deployment at a time, durable across restarts, with live logs.
 * This file only assembles the parts (inputs reader, settings, service,
 * worker, routes, forge ports) from the configuration; see the files it
 * imports for each part's rules. Without DESPACITO_FLAKE_DIR the routes
 * still exist (reads work, the webhook answers 503) but no worker runs.
 * Never runs anything at import time.
 */

import { auditActor, type Principal } from "../auth/principal.ts";
import type { Area, AreaContext } from "../http/area.ts";
import { NO_AUDIT } from "../core/audit.ts";
import { createBus } from "../events/bus.ts";
import { requestAudit } from "../http/audit.ts";
import { type Executor, runProcess } from "../exec/run.ts";
import { childEnv } from "../exec/env.ts";
import { createGroupGuard } from "../exec/orphans.ts";
import { createToolCheck } from "./tools.ts";
import { createGates } from "./gates.ts";
import { deployWrites } from "./writes.ts";
import { createFleet } from "./fleet.ts";
import { createMutex } from "../core/mutex.ts";
import { detectNixVersion, type NixVersion } from "./flake_step.ts";
import { createInputsReader } from "./inputs.ts";
import { createPorts, type DeployPorts } from "./ports.ts";
import { deployRoutes } from "./routes.ts";
import { createDeployService } from "./service.ts";
import { createSettingsSource, parseSettings } from "./settings.ts";
import type { DeployEvent } from "./store.ts";
import { createWorker } from "./worker.ts";
import { accessProblems } from "./git_access.ts";
import { createRemote, type FlakeRemote } from "./remote.ts";
import { createLeadership } from "./lease.ts";
import { createRelay } from "./relay.ts";
import { TERMINAL } from "./deployment.ts";
import type { Config } from "../config/config.ts";
import type { Logger } from "../log/log.ts";
import { resolve } from "node:path";

export interface DeployArea extends Area<Principal> {
  ports: DeployPorts;
}

export interface DeployAreaOptions {
  /** Tests hand in a fake at the process boundary; production uses runProcess. */
  exec?: Executor;
}

export async function createDeployArea(
  ctx: AreaContext,
  options: DeployAreaOptions = {},
): Promise<DeployArea> {
  const { config, sql } = ctx;
  const log = ctx.log.child({ component: "deploy" });
  // Children see the allowlist plus DESPACITO_EXEC_ENV's names, read once (src/exec/env.ts).
  const baseEnv = childEnv(config.execEnv ?? []);
  const run: Executor = options.exec ??
    ((argv, o) => runProcess(argv, { baseEnv, ...o }));
  // One colmena at a time in this process: a drift check waits for a deployment's run and the
  // other way round (`--version` probes touch no node).
  const colmenaLock = createMutex();
  const exec: Executor = (argv, o) =>
    argv[0] === config.colmenaBin && argv[1] !== "--version"
      ? colmenaLock.run(() => run(argv, o))
      : run(argv, o);
  const bus = createBus<DeployEvent>({
    onError: (e) => log.error("an event subscriber failed", { error: e }),
  });
  const flakeDir = config.flakeDir ? resolve(config.flakeDir) : undefined;
  const inputs = flakeDir ? createInputsReader(flakeDir) : undefined;
  // A broken settings file stops startup with every problem listed, not the first deployment.
  if (config.configFile) {
    await parseSettings(config.configFile, await Deno.readTextFile(config.configFile));
  }
  const settings = createSettingsSource(config.configFile, config.deployTimeoutMs);
  let nixVersion: Promise<NixVersion> | undefined;
  const nix = () => {
    nixVersion ??= detectNixVersion(exec, config.nixBin).catch((e) => {
      nixVersion = undefined;
      throw e;
    });
    return nixVersion;
  };

  const tools = flakeDir ? createToolCheck({ exec, config, flakeDir }) : undefined;
  const remote = flakeDir && config.flakeRemote
    ? createRemote({ exec, config: { ...config, flakeRemote: config.flakeRemote }, dir: flakeDir })
    : undefined;
  const guard = createGroupGuard({ file: resolve(config.dataDir, "colmena.pgid"), log });
  const gates = createGates();
  const writes = deployWrites(sql, bus, { queueLimit: config.queueLimit });
  const fleet = flakeDir
    ? createFleet({
      sql,
      exec,
      colmenaBin: config.colmenaBin,
      flakeDir,
      intervalMs: config.driftIntervalMs,
      timeoutMs: config.nixTimeoutMs,
      log,
    })
    : undefined;
  const worker = flakeDir && inputs && tools
    ? createWorker({
      sql,
      bus,
      exec,
      config,
      flakeDir,
      inputs,
      settings,
      nixVersion: nix,
      tools,
      guard,
      gates,
      writes,
      log,
      remote,
    })
    : undefined;
  // DESPACITO_HA: only the lease holder runs the worker; events cross instances (relay.ts).
  const instance = config.instanceName ?? `${Deno.hostname()}:${Deno.pid}`;
  const leadership = config.ha && worker ? createLeadership({ sql, instance, log }) : undefined;
  const relay = config.ha
    ? createRelay({
      sql,
      bus,
      instance,
      log,
      onForeign: () => worker?.wakeFromAnotherInstance(),
      onAsked: (q) => leadership?.isLeader() ? gates.promote(q.promote, q.by) : undefined,
      // A follower's clone follows the remote after each of the leader's deployments, so its
      // webhook checks know the flake's inputs as the leader does.
      onRelayed: (e) => {
        if (e.type !== "status" || !TERMINAL.has(e.deployment.status) || !remote) return;
        if (leadership?.isLeader()) return;
        remote.sync((l) => log.debug(l)).catch((err) =>
          log.warn("cannot refresh the flake clone from the remote", { error: err })
        );
      },
    })
    : undefined;
  // The start's tool check, begun early by prepare() when nothing must happen before it (with
  // a flake remote the clone comes first).
  let startCheck: ReturnType<NonNullable<typeof tools>["check"]> | undefined;
  const service = createDeployService({
    sql,
    bus,
    writes,
    inputs,
    schemes: config.flakeRefSchemes,
    wake: () => worker?.wake(),
    log,
    stopping: ctx.stopping,
  });

  return {
    name: "deploy",
    routes: deployRoutes({
      sql,
      bus,
      service,
      worker,
      inputs,
      schemes: config.flakeRefSchemes,
      stopping: ctx.stopping,
      audit: requestAudit(ctx.audit ?? NO_AUDIT, config, auditActor),
      promote: (id, by) =>
        gates.promote(id, by) ||
        (!!relay && !leadership?.isLeader() && relay.askLeader({ promote: id, by })),
      fleet,
    }),
    ports: createPorts({ service, bus, inputs, audit: ctx.audit ?? NO_AUDIT }),
    prepare() {
      if (!worker || remote || startCheck) return;
      startCheck = tools!.check();
      // start() awaits it; should start fail first, its outcome must not go unhandled.
      startCheck.catch(() => {});
    },
    async start() {
      if (config.ha) {
        const problems = haProblems(config);
        if (problems.length > 0) throw new Error(`DESPACITO_HA: ${problems.join("; ")}`);
        await relay!.start();
      }
      if (!worker) {
        log.warn("DESPACITO_FLAKE_DIR is not set: deployments are off (the webhook answers 503)");
        return;
      }
      await startRemote(remote, config, log);
      // Misconfiguration shows at start, not in the middle of the first deployment.
      const report = await (startCheck ?? tools!.check());
      log.info("deployment tools", { versions: report.versions });
      for (const p of report.problems) log.error(`deployments cannot run: ${p}`);
      const lead = async () => {
        await worker.start();
        fleet?.start();
      };
      if (!leadership) return await lead();
      log.info("campaigning for the leader lease", { instance });
      leadership.start({
        // Only the leader runs colmena: deployments and the drift check alike.
        onElected: lead,
        onLost: (reason) => {
          // It can no longer prove it leads: stop at once. Under systemd the whole unit goes,
          // colmena included; the next leader recovers the run as after a crash.
          log.error(`${reason}: exiting so that another instance takes over`);
          Deno.exit(75);
        },
      });
    },
    async readiness() {
      if (!tools) return undefined;
      const report = await tools.cached({ dirtyOk: worker?.busy() });
      return report.problems.length ? report.problems.join("; ") : undefined;
    },
    async readyInfo() {
      const ha = leadership
        ? {
          instance,
          leader: await leadership.leader(),
          role: leadership.isLeader() ? "leader" : "follower",
        }
        : {};
      if (!remote) return ha;
      const s = await remote.status();
      return {
        ...ha,
        flake_remote: {
          url: s.url,
          branch: s.branch,
          unpushed_commits: s.ahead,
          behind: s.ahead > 0,
          last_error: s.lastError,
        },
      };
    },
    async stop(deadline) {
      fleet?.stop();
      await worker?.stop(deadline);
      await leadership?.stop();
      await relay?.stop();
    },
  };
}

/** The credentials must be there, then the flake dir is cloned or checked; refuses to start otherwise. */
async function startRemote(
  remote: FlakeRemote | undefined,
  config: Readonly<Config>,
  log: Logger,
) {
  const problems = await accessProblems(config);
  if (problems.length > 0) throw new Error(`the flake remote: ${problems.join("; ")}`);
  if (!remote) return;
  await remote.ensureClone();
  const s = await remote.status();
  log.info("flake remote", { url: s.url, branch: s.branch, unpushed_commits: s.ahead });
}

/** Several instances need a shared database and a shared flake remote. */
function haProblems(config: Readonly<Config>): string[] {
  const problems: string[] = [];
  if (!config.postgresUri) {
    problems.push("needs DESPACITO_POSTGRES_CONNECTION_URI (embedded PGlite is single-instance)");
  }
  if (config.flakeDir && !config.flakeRemote) {
    problems.push("needs DESPACITO_FLAKE_REMOTE (each instance has its own flake dir)");
  }
  return problems;
}
