import assert from "node:assert/strict";
import { bundleUi, contentHash } from "../src/build/bundle_ui.ts";

const BUDGET_GZIP_BYTES = 40 * 1024;

async function gzipSize(bytes: Uint8Array<ArrayBuffer>): Promise<number> {
  const s = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(s).arrayBuffer()).byteLength;
}

Deno.test("bundleUi() builds content-hashed assets, an index.html that loads only them, and JS within 40 KB gzipped", async () => {
  const out = await Deno.makeTempDir({ prefix: "despacito-ui-build-" });
  try {
    const first = await bundleUi({ outDir: `${out}/dist` });
    const names = [...Deno.readDirSync(`${out}/dist/assets`)].map((e) => e.name).sort();
    assert.equal(names.length, 2, names.join(","));

    let jsGzip = 0;
    for (const name of names) {
      const m = /^(main|style)-([0-9a-f]{16})\.(js|css)$/.exec(name);
      assert.ok(m, `content-hash name: ${name}`);
      const bytes = await Deno.readFile(`${out}/dist/assets/${name}`);
      assert.equal(m[2], await contentHash(bytes), `${name} is named after its bytes`);
      if (name.endsWith(".js")) jsGzip += await gzipSize(bytes);
    }
    assert.ok(
      jsGzip <= BUDGET_GZIP_BYTES,
      `JS is ${jsGzip} bytes gzipped, budget ${BUDGET_GZIP_BYTES}`,
    );

    const html = await Deno.readTextFile(`${out}/dist/index.html`);
    const refs = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
    for (const ref of refs) {
      assert.ok(ref.startsWith("/assets/") || ref.startsWith("data:"), `local reference: ${ref}`);
    }
    assert.deepEqual(
      refs.filter((r) => r.startsWith("/assets/")).sort(),
      names.map((n) => `/assets/${n}`).sort(),
    );
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, "no inline script");
    assert.doesNotMatch(html, /<style|\sstyle=/, "no inline style");
    assert.doesNotMatch(html, /%[A-Z_]+%/, "every placeholder replaced");

    // Same sources, same names: the hash is of the content, not the build.
    const second = await bundleUi({ outDir: `${out}/dist` });
    assert.deepEqual(second.assets, first.assets);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
