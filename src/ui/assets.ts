/**
 * The built web UI in memory: index.html and the content-hashed files under
 * assets/, read once at startup from ui/dist beside this module (the same
 * relative path inside a `deno compile --include ui/dist` binary), each with
 * its ETag; its gzip form is made on the first request that accepts it
 * (compressing the bundle at startup cost more than the rest of becoming
 * ready). Reading is all this module does; it never builds the UI and never
 * serves anything.
 */

import { createHash } from "node:crypto";

export interface Asset {
  body: Uint8Array<ArrayBuffer>;
  /** The gzip form, made once; undefined when compressing saves nothing. */
  gzip(): Promise<Uint8Array<ArrayBuffer> | undefined>;
  contentType: string;
  etag: string;
}

export interface UiAssets {
  index: Asset;
  /** Keyed by file name under /assets/. */
  files: Map<string, Asset>;
}

export const DEFAULT_DIST_DIR = new URL("../../ui/dist/", import.meta.url);

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".map": "application/json",
};

/** Loads ui/dist; undefined when it has not been built (no index.html). */
export async function loadUiAssets(dir: URL | string = DEFAULT_DIST_DIR): Promise<
  UiAssets | undefined
> {
  const base = typeof dir === "string" ? dir.replace(/\/?$/, "/") : dir.href.replace(/\/?$/, "/");
  const at = (name: string) => typeof dir === "string" ? base + name : new URL(name, base);
  let indexBytes: Uint8Array<ArrayBuffer>;
  try {
    indexBytes = await Deno.readFile(at("index.html"));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`cannot read the built web UI in ${base}`, { cause: e });
  }
  const files = new Map<string, Asset>();
  try {
    for await (const entry of Deno.readDir(at("assets/"))) {
      if (!entry.isFile) continue;
      files.set(
        entry.name,
        asset(await Deno.readFile(at(`assets/${entry.name}`)), entry.name),
      );
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new Error(`cannot read the built web UI in ${base}assets/`, { cause: e });
    }
  }
  return { index: asset(indexBytes, "index.html"), files };
}

function asset(body: Uint8Array<ArrayBuffer>, name: string): Asset {
  const ext = name.slice(name.lastIndexOf("."));
  const etag = `"${createHash("sha256").update(body).digest("hex").slice(0, 24)}"`;
  const contentType = TYPES[ext] ?? "application/octet-stream";
  const compressible = contentType.startsWith("text/") || contentType.includes("json") ||
    ext === ".svg";
  let gzip: Promise<Uint8Array<ArrayBuffer> | undefined> | undefined;
  return {
    body,
    gzip: () =>
      gzip ??= compressible && body.length > 512
        ? gzipBytes(body).then((z) => z.length < body.length ? z : undefined)
        : Promise.resolve(undefined),
    contentType,
    etag,
  };
}

async function gzipBytes(body: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([body]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
