/**
 * One at a time: `run(fn)` waits for every earlier run to settle, then runs
 * `fn`. Used where two callers must never overlap (colmena runs of a
 * deployment and of a drift check). Pure; no I/O.
 */

export interface Mutex {
  run<T>(fn: () => Promise<T>): Promise<T>;
}

export function createMutex(): Mutex {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(fn: () => Promise<T>): Promise<T> {
      const result = tail.then(fn, fn);
      tail = result.catch(() => {});
      return result;
    },
  };
}
