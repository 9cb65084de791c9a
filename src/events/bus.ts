/**
 * The in-process event bus: deployment log lines and status changes, fanned
 * out to SSE streams, waiting webhook clients and the forge's status port.
 * Delivery is a plain synchronous call, so a subscriber must never block.
 * The bus is not the record: everything is in Postgres first (publishers
 * publish only after their commit), and readers that need completeness
 * replay from there. Never does I/O itself.
 */

export interface Bus<T> {
  publish(event: T): void;
  /** Returns the unsubscribe function. */
  subscribe(fn: (event: T) => void): () => void;
  readonly size: number;
}

export function createBus<T>(options: { onError?: (e: unknown) => void } = {}): Bus<T> {
  const subscribers = new Set<(event: T) => void>();
  return {
    publish(event) {
      for (const fn of [...subscribers]) {
        try {
          fn(event);
        } catch (e) {
          // One broken subscriber must not starve the others.
          options.onError?.(e);
        }
      }
    },
    subscribe(fn) {
      subscribers.add(fn);
      return () => subscribers.delete(fn);
    },
    get size() {
      return subscribers.size;
    },
  };
}
