/**
 * Builds the operator's web UI: esbuild (npm `esbuild`, locked in deno.lock,
 * so the Nix build and offline machines need nothing beyond the installed
 * npm dependencies; `deno bundle` would download its own esbuild) turns
 * ui/src/main.tsx (Preact, automatic JSX runtime) and ui/src/style.css into
 * minified files, which are renamed to content-hash names under `assets/`
 * and referenced from index.html (rendered from ui/index.html). The result
 * lands in ui/dist, which the server reads at startup (src/ui/assets.ts) and
 * `deno compile --include ui/dist` embeds. `deno task build:ui` runs this;
 * `deno task start` and the compile script call it first.
 *
 * esbuild runs its native binary from node_modules (a path that depends on
 * the platform), hence the build task's unrestricted --allow-run; the
 * server's own flags are unaffected.
 *
 * Never writes outside the output directory and its temporary sibling; the
 * new build replaces the old one only once it is complete.
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

export interface BundleOptions {
  /** The checkout (holds deno.json and ui/). Default: this module's repository. */
  root?: string;
  /** Where the build goes. Default: `<root>/ui/dist`. */
  outDir?: string;
}

export interface BuiltAsset {
  /** URL path, e.g. `/assets/main-3f2a….js`. */
  path: string;
  bytes: number;
}

export interface BundleResult {
  outDir: string;
  assets: BuiltAsset[];
}

/** The entry points and the placeholder in ui/index.html each one replaces. */
const ENTRIES = [
  { source: "ui/src/main.tsx", output: "main.js", placeholder: "%MAIN_JS%" },
  { source: "ui/src/style.css", output: "style.css", placeholder: "%STYLE_CSS%" },
];

export function defaultRoot(): string {
  return fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");
}

export async function bundleUi(options: BundleOptions = {}): Promise<BundleResult> {
  const root = options.root ?? defaultRoot();
  const outDir = options.outDir ?? join(root, "ui", "dist");
  const staging = `${outDir}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  const raw = join(staging, "_raw");
  try {
    await Deno.mkdir(join(staging, "assets"), { recursive: true });
    await runBundle(root, raw);

    let html = await Deno.readTextFile(join(root, "ui", "index.html"));
    const assets: BuiltAsset[] = [];
    for (const entry of ENTRIES) {
      const bytes = await Deno.readFile(join(raw, entry.output));
      const dot = entry.output.lastIndexOf(".");
      const name = `${entry.output.slice(0, dot)}-${await contentHash(bytes)}${
        entry.output.slice(dot)
      }`;
      await Deno.writeFile(join(staging, "assets", name), bytes);
      const path = `/assets/${name}`;
      if (!html.includes(entry.placeholder)) {
        throw new Error(`ui/index.html lacks the placeholder ${entry.placeholder}`);
      }
      html = html.replaceAll(entry.placeholder, path);
      assets.push({ path, bytes: bytes.length });
    }
    await Deno.writeTextFile(join(staging, "index.html"), html);
    await Deno.remove(raw, { recursive: true });

    await Deno.remove(outDir, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await Deno.mkdir(dirname(outDir), { recursive: true });
    await Deno.rename(staging, outDir);
    return { outDir, assets };
  } catch (e) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw new Error(`building the web UI failed: ${e instanceof Error ? e.message : e}`, {
      cause: e,
    });
  }
}

async function runBundle(root: string, outDir: string): Promise<void> {
  try {
    await esbuild.build({
      absWorkingDir: root,
      entryPoints: ENTRIES.map((e) => e.source),
      outdir: outDir,
      bundle: true,
      minify: true,
      platform: "browser",
      format: "esm",
      jsx: "automatic",
      jsxImportSource: "preact",
      logLevel: "silent",
    });
  } catch (e) {
    const failure = e as { errors?: esbuild.Message[] };
    const text = failure.errors
      ? (await esbuild.formatMessages(failure.errors, { kind: "error" })).join("")
      : String(e);
    throw new Error(`esbuild failed:\n${text}`);
  } finally {
    // The esbuild service is a child process: stop it so the caller can exit.
    await esbuild.stop();
  }
}

/** First 16 hex digits of the SHA-256: changes whenever the bytes do. */
export async function contentHash(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  return Array.from(digest.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

if (import.meta.main) {
  const result = await bundleUi();
  for (const a of result.assets) {
    // deno-lint-ignore no-console
    console.log(`${a.path} ${a.bytes} bytes`);
  }
}
