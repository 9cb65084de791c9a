/** useLoad(): one API call's data, error and reload, optionally refreshed on an interval. */

import { useEffect, useRef } from "preact/hooks";
import { type Signal, useSignal } from "@preact/signals";
import { describeError } from "./api.ts";

export interface Loaded<T> {
  data: Signal<T | undefined>;
  error: Signal<string | null>;
  reload: () => Promise<void>;
}

export function useLoad<T>(fetcher: () => Promise<T>, key: string, everyMs?: number): Loaded<T> {
  const data = useSignal<T | undefined>(undefined);
  const error = useSignal<string | null>(null);
  // Answers to a previous key (or after unmount) are dropped.
  const generation = useRef(0);
  const reload = async () => {
    const g = generation.current;
    try {
      const value = await fetcher();
      if (g !== generation.current) return;
      data.value = value;
      error.value = null;
    } catch (e) {
      if (g === generation.current) error.value = describeError(e);
    }
  };
  useEffect(() => {
    generation.current++;
    data.value = undefined;
    reload();
    const timer = everyMs
      ? setInterval(() => document.visibilityState === "visible" && reload(), everyMs)
      : undefined;
    return () => {
      generation.current++;
      clearInterval(timer);
    };
  }, [key]);
  return { data, error, reload };
}
