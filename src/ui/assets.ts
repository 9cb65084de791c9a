/**
 * The built web UI in memory: index.html and the content-hashed files under
 * assets/, read once at startup from ui/dist beside this module (the same
 * relative path inside a `deno compile --include ui/dist` binary), each with
 * its gzip form and ETag precomputed. Reading is all this module does; it
 * never builds the UI and never serves anything.
 */

import { hex } from "../core/ids.ts";

export interface Asset {
  body: Uint8Array<ArrayBuffer>;
  /** Present when compressing saved bytes. */
  gzip?: Uint8Array<ArrayBuffer>;
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
        await asset(await Deno.readFile(at(`assets/${entry.name}`)), entry.name),
      );
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new Error(`cannot read the built web UI in ${base}assets/`, { cause: e });
    }
  }
  return { index: await asset(indexBytes, "index.html"), files };
}

async function asset(body: Uint8Array<ArrayBuffer>, name: string): Promise<Asset> {
  const ext = name.slice(name.lastIndexOf("."));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  const etag = `"${hex(digest.slice(0, 12))}"`;
  const contentType = TYPES[ext] ?? "application/octet-stream";
  const compressible = contentType.startsWith("text/") || contentType.includes("json") ||
    ext === ".svg";
  const gzip = compressible && body.length > 512 ? await gzipBytes(body) : undefined;
  return {
    body,
    gzip: gzip && gzip.length < body.length ? gzip : undefined,
    contentType,
    etag,
  };
}

async function gzipBytes(body: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([body]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
