/**
 * The UI area: serves the operator's web UI built into ui/dist. index.html
 * answers `/` and every client route (the SPA fallback, which app.ts never
 * offers for /api, /auth, /webhook or /health) with `Cache-Control:
 * no-cache`; the content-hashed files under /assets/ are cached for a year.
 * Every UI response carries a strict Content-Security-Policy: only
 * despacito's own scripts and styles, nothing inline, no requests elsewhere.
 * When the UI was not built the server still runs and says how to build it.
 * This area owns no data and calls no API: the browser does that.
 */

import type { Area, AreaContext } from "../http/area.ts";
import { acceptsGzip } from "../http/gzip_stream.ts";
import type { AppContext } from "../http/types.ts";
import { type Asset, loadUiAssets, type UiAssets } from "./assets.ts";

/**
 * No inline script or style, no eval, nothing from other origins; Trusted
 * Types forbid string-to-HTML sinks, so server text can never become markup.
 */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "manifest-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

export const INDEX_CACHE = "no-cache";
export const ASSET_CACHE = "public, max-age=31536000, immutable";

export const NOT_BUILT_MESSAGE = "despacito is running, but its web UI has not been built.\n\n" +
  "Run `deno task build:ui` in the checkout and restart despacito\n" +
  "(`deno task start` and `deno task compile` build it for you).\n\n" +
  "The API (/api, /webhook, /health) works without it.\n";

export interface UiAreaOptions {
  /** The built UI; `loadUiAssets()` from ui/dist when omitted. */
  distDir?: URL | string;
}

export interface UiArea<P> extends Area<P> {
  /** Handed to createApp: answers GET requests no route matched (SPA fallback). */
  fallback: (c: AppContext) => Response | Promise<Response>;
}

export async function createUiArea<P>(
  ctx: AreaContext,
  options: UiAreaOptions = {},
): Promise<UiArea<P>> {
  const assets = await loadUiAssets(options.distDir);
  if (!assets) {
    ctx.log.warn("web UI not built; serving a page that says how to build it", {
      component: "ui",
      hint: "deno task build:ui",
    });
  }
  return {
    name: "ui",
    routes: [
      {
        method: "GET",
        path: "/assets/:file",
        access: "public",
        summary: "web UI asset under a content-hash name (cached for a year)",
        handler: (c) => {
          const file = assets?.files.get(c.req.param("file") ?? "");
          if (!file) return uiText(c, "no such asset\n", 404);
          return send(c, file, ASSET_CACHE);
        },
      },
    ],
    fallback: (c) => serveIndex(c, assets),
  };
}

function serveIndex(c: AppContext, assets: UiAssets | undefined): Response | Promise<Response> {
  if (!assets) return uiText(c, NOT_BUILT_MESSAGE, 503);
  return send(c, assets.index, INDEX_CACHE);
}

async function send(c: AppContext, asset: Asset, cacheControl: string): Promise<Response> {
  const headers = new Headers({
    "Content-Type": asset.contentType,
    "Cache-Control": cacheControl,
    "Content-Security-Policy": UI_CSP,
    "ETag": asset.etag,
    "Vary": "Accept-Encoding",
  });
  if (ifNoneMatch(c.req.header("if-none-match"), asset.etag)) {
    return new Response(null, { status: 304, headers });
  }
  const gzip = acceptsGzip(c.req.header("accept-encoding")) ? await asset.gzip() : undefined;
  if (gzip) headers.set("Content-Encoding", "gzip");
  return new Response(gzip ?? asset.body, { status: 200, headers });
}

function uiText(c: AppContext, text: string, status: number): Response {
  return c.body(text, status as 404 | 503, {
    "Content-Type": "text/plain; charset=utf-8",
    "Cache-Control": "no-store",
    "Content-Security-Policy": UI_CSP,
  });
}

function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((t) => {
    const v = t.trim();
    return v === "*" || v === etag || v === `W/${etag}`;
  });
}
