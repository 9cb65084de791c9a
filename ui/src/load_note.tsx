/** A load's error: what went wrong, how old the data still shown is, and Retry. */

import { Time } from "./components.tsx";
import type { Loaded } from "./load.ts";

export function LoadNote<T>({ of }: { of: Loaded<T> }) {
  const error = of.error.value;
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error}
      {of.data.value !== undefined && of.updatedAt.value && (
        <>
          {" "}— last updated <Time at={of.updatedAt.value} />
        </>
      )} <button type="button" class="small" onClick={() => of.reload()}>Retry</button>
    </p>
  );
}
