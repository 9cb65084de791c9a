/**
 * `despacito status`: the server at a glance — the queue (running and
 * queued deployments), every package with its current version and last
 * outcome, what each node runs (GET /api/nodes), and held packages.
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
  held?: { deployment_id: string; reason: string; held_at: string } | null;
}

interface NodeState {
  node: string;
  commit: string | null;
  activated_at: string | null;
  outcome: string;
  packages: Record<string, string>;
}

export async function statusCommand(args: string[]): Promise<number> {
  return await runRemote({ usage: USAGE, options: {} }, args, async ({ json, remote }) => {
    const r = await remote();
    const [{ packages }, { deployments: queue }, { nodes }] = await Promise.all([
      r.json<{ packages: PackageState[] }>("GET", "/api/packages"),
      r.json<{ deployments: Deployment[] }>("GET", "/api/deployments", {
        query: { status: "running,queued", limit: "200" },
      }),
      r.json<{ nodes: NodeState[] }>("GET", "/api/nodes"),
    ]);
    const held = packages.filter((p) => p.held).map((p) => ({ package: p.name, ...p.held! }));
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
        ["NODE", "OUTCOME", "COMMIT", "ACTIVATED", "PACKAGES"],
        nodes.map((n) => [
          n.node,
          n.outcome,
          n.commit?.slice(0, 12),
          since(n.activated_at),
          Object.entries(n.packages).map(([k, v]) => `${k} ${v}`).join(", "),
        ]),
      ));
    }
    out("");
    if (held.length === 0) out("Held: none");
    for (const h of held) out(`Held: ${h.package} since ${since(h.held_at)}: ${h.reason}`);
    return EXIT.ok;
  });
}
