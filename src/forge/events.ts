/**
 * What a Forgejo/Gitea delivery means for despacito: a deployment trigger
 * (a release that is final — published, not a draft, not a pre-release —
 * whichever action says so, or a tag created or pushed) or something to ignore,
 * with the reason. Pure: reads the event name and the parsed payload, knows
 * the payload shapes of `release`, `create` and `push`, nothing else.
 */

import { shown } from "./tag.ts";

export type Trigger = "release" | "tag";

export type DeliveryMeaning =
  | {
    kind: "deploy";
    tag: string;
    /** A release: deploys once per tag, however many deliveries say it is final. */
    release?: true;
  }
  | { kind: "ignore"; reason: string };

const ZERO = /^0+$/;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? v as Obj : undefined;
const str = (v: unknown): string | undefined => typeof v === "string" ? v : undefined;

/** The event name from the Forgejo or Gitea header. */
export function eventFrom(header: (name: string) => string | undefined): string | undefined {
  return header("x-forgejo-event") || header("x-gitea-event") || undefined;
}

/** The delivery id from the Forgejo or Gitea header. */
export function deliveryIdFrom(header: (name: string) => string | undefined): string | undefined {
  const id = header("x-forgejo-delivery") || header("x-gitea-delivery");
  return id && id.length <= 200 ? id : undefined;
}

export function interpretDelivery(
  event: string | undefined,
  payload: unknown,
  trigger: Trigger,
): DeliveryMeaning {
  const p = obj(payload) ?? {};
  switch (event) {
    case "release":
      return release(p, trigger);
    case "create":
      return create(p, trigger);
    case "push":
      return push(p, trigger);
    case undefined:
      return ignore("no X-Forgejo-Event or X-Gitea-Event header");
    default:
      return ignore(`event "${shown(event)}" does not trigger deployments`);
  }
}

function ignore(reason: string): DeliveryMeaning {
  return { kind: "ignore", reason };
}

function release(p: Obj, trigger: Trigger): DeliveryMeaning {
  if (trigger !== "release") return ignore("this connection deploys tags, not releases");
  // Forgejo sends `published` only when a release is created (or an edit creates its tag);
  // promoting a pre-release or publishing a draft whose tag exists is `updated`
  // (services/release/release.go, UpdateRelease → notify UpdateRelease).
  const action = str(p.action);
  if (action !== "published" && action !== "updated") {
    return ignore(`release ${action === undefined ? "without action" : shown(action)}`);
  }
  const r = obj(p.release);
  const tag = str(r?.tag_name);
  if (!r || !tag) return ignore("release payload without a tag name");
  if (r.draft === true) return ignore("draft release");
  if (r.prerelease === true) return ignore("pre-release");
  return { kind: "deploy", tag, release: true };
}

function create(p: Obj, trigger: Trigger): DeliveryMeaning {
  const refType = str(p.ref_type);
  if (refType !== "tag") return ignore(`${refType === undefined ? "ref" : shown(refType)} created`);
  if (trigger !== "tag") return ignore("this connection deploys releases, not tags");
  const tag = tagName(str(p.ref));
  if (!tag) return ignore("create payload without a tag name");
  // Its sha may be an annotated tag object: the commit is asked of the forge (deliveries.ts).
  return { kind: "deploy", tag };
}

function push(p: Obj, trigger: Trigger): DeliveryMeaning {
  const ref = str(p.ref) ?? "";
  if (ref.startsWith("refs/heads/")) return ignore(`branch push (${shown(ref.slice(11))})`);
  if (!ref.startsWith("refs/tags/")) {
    return ignore(`push of ${ref ? shown(ref) : "an unnamed ref"}`);
  }
  if (trigger !== "tag") return ignore("this connection deploys releases, not tags");
  const after = str(p.after) ?? "";
  if (ZERO.test(after)) return ignore("tag deleted");
  return { kind: "deploy", tag: ref.slice(10) };
}

/** "refs/tags/v1" or "v1" (older Forgejo/Gitea send the short name) → "v1". */
function tagName(ref: string | undefined): string | undefined {
  if (!ref) return undefined;
  const name = ref.startsWith("refs/tags/") ? ref.slice(10) : ref;
  return name === "" ? undefined : name;
}
