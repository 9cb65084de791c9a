/**
 * `despacito status`: the server at a glance — the queue (running and
 * queued deployments), every package with its current version and last
 * outcome, the nodes of each package's latest deployment, held packages.
 */

import { EXIT } from "../args.ts";
import { out } from "../io.ts";
import { printJson, runRemote, since, table } from "./run.ts";
import type { Deployment } from "./view.ts";

const USAGE = "usage: despacito status [--json]\n  Queue, packages, nodes and held packages.";

interface PackageState {
  name: string;
  current_version: string | null;
  deployed_at: string | null;
  last_status: string | null;
  last_deployment_id: string | null;
  held?: boolean;
}

export async function statusCommand(args: string[]): Promise<number> {
  return await runRemote({ usage: USAGE, options: {} }, args, async ({ json, remote }) => {
    const r = await remote();
    const [{ packages }, { deployments: queue }] = await Promise.all([
      r.json<{ packages: PackageState[] }>("GET", "/api/packages"),
      r.json<{ deployments: Deployment[] }>("GET", "/api/deployments", {
        query: { status: "running,queued", limit: "200" },
      }),
    ]);
    const lastIds = packages.map((p) => p.last_deployment_id).filter((x): x is string => !!x);
    const latest = await Promise.all(
      lastIds.map((id) => r.json<Deployment>("GET", `/api/deployments/${id}`)),
    );
    const nodes = latest.flatMap((d) =>
      (d.nodes ?? []).map((n) => ({
        node: n.node ?? n.name ?? "?",
        package: d.package,
        version: d.version,
        status: n.status ?? n.outcome ?? "",
      }))
    );
    const held = packages.filter((p) => p.held === true || p.last_status === "held").map((p) =>
      p.name
    );
    if (json) {
      printJson({ server: r.server, queue, packages, nodes, held });
      return EXIT.ok;
    }
    const running = queue.filter((d) => d.status === "running").length;
    out(`${r.server}: ${running} running, ${queue.length - running} queued`);
    if (queue.length) {
      out(table(
        ["ID", "PACKAGE", "VERSION", "STATUS", "CREATED"],
        queue.map((d) => [d.id, d.package, d.version, d.status, since(d.created_at)]),
      ));
    }
    out("");
    out(
      packages.length === 0 ? "No packages (flake inputs)." : table(
        ["PACKAGE", "CURRENT", "DEPLOYED", "LAST"],
        packages.map((p) => [p.name, p.current_version, since(p.deployed_at), p.last_status]),
      ),
    );
    if (nodes.length) {
      out("");
      out(table(
        ["NODE", "PACKAGE", "VERSION", "STATUS"],
        nodes.map((n) => [n.node, n.package, n.version, n.status]),
      ));
    }
    out("");
    out(held.length ? `Held: ${held.join(", ")}` : "Held: none");
    return EXIT.ok;
  });
}
