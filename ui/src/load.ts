/**
 * useLoad(): one API call's data, error and reload, optionally refreshed on
 * an interval. The data stays when a reload fails (shown as "last updated
 * …" beside the error, load_note.tsx), and a failed load is tried again the
 * moment despacito answers again (api.ts `reachable`), so no error outlives
 * an outage.
 */

import { useEffect, useRef } from "preact/hooks";
import { type Signal, useSignal } from "@preact/signals";
import { describeError, reachable } from "./api.ts";

export interface Loaded<T> {
  data: Signal<T | undefined>;
  error: Signal<string | null>;
  /** When the data shown was read (ISO), for "last updated …". */
  updatedAt: Signal<string | undefined>;
  reload: () => Promise<void>;
}

export function useLoad<T>(fetcher: () => Promise<T>, key: string, everyMs?: number): Loaded<T> {
  const data = useSignal<T | undefined>(undefined);
  const error = useSignal<string | null>(null);
  const updatedAt = useSignal<string | undefined>(undefined);
  // Answers to a previous key (or after unmount) are dropped.
  const generation = useRef(0);
  const reload = async () => {
    const g = generation.current;
    try {
      const value = await fetcher();
      if (g !== generation.current) return;
      data.value = value;
      error.value = null;
      updatedAt.value = new Date().toISOString();
    } catch (e) {
      if (g === generation.current) error.value = describeError(e);
    }
  };
  useEffect(() => {
    generation.current++;
    data.value = undefined;
    updatedAt.value = undefined;
    reload();
    const timer = everyMs
      ? setInterval(() => document.visibilityState === "visible" && reload(), everyMs)
      : undefined;
    const back = reachable.subscribe((up) => up && error.value && reload());
    return () => {
      generation.current++;
      clearInterval(timer);
      back();
    };
  }, [key]);
  return { data, error, updatedAt, reload };
}
