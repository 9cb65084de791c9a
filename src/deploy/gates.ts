/**
 * Manual promotion gates: a run paused after a stage waits here until an
 * operator promotes it (POST /api/deployments/:id/promote), the run is
 * cancelled or shut down (its signal), or the promotion timeout passes.
 * In memory: a restart recovers a paused deployment like any interrupted
 * one (its nodes are rolled back), so a gate never outlives its process.
 */

export type GateOutcome =
  | { kind: "promoted"; by: string }
  | { kind: "timeout" }
  | { kind: "aborted" };

export interface Gates {
  wait(id: string, signal: AbortSignal, timeoutMs: number): Promise<GateOutcome>;
  /** True when `id` was waiting at a gate and now goes on; `by` names who promoted it. */
  promote(id: string, by: string): boolean;
  waiting(id: string): boolean;
}

export function createGates(): Gates {
  const open = new Map<string, (by: string) => void>();
  return {
    wait(id, signal, timeoutMs) {
      return new Promise<GateOutcome>((resolve) => {
        const done = (o: GateOutcome) => {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          open.delete(id);
          resolve(o);
        };
        const onAbort = () => done({ kind: "aborted" });
        const timer = setTimeout(() => done({ kind: "timeout" }), timeoutMs);
        signal.addEventListener("abort", onAbort, { once: true });
        open.set(id, (by) => done({ kind: "promoted", by }));
        if (signal.aborted) done({ kind: "aborted" });
      });
    },
    promote(id, by) {
      const go = open.get(id);
      go?.(by);
      return go !== undefined;
    },
    waiting: (id) => open.has(id),
  };
}
