/**
 * DESPACITO_CONFIG as shipped: a YAML or JSON settings file is read by the
 * server under its production permission flags (the `yaml` package reads two
 * debug variables of its own, which once stopped every start), and a broken
 * file stops startup with exit status 2 and every problem listed, like a bad
 * variable.
 */

import assert from "node:assert/strict";
import { freshDatabase } from "./_harness/postgres.ts";
import { runCli, spawnServer } from "./_harness/server.ts";

async function withDir(fn: (dir: string, dbUri: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "despacito-settings-" });
  const db = await freshDatabase();
  try {
    await fn(dir, db.uri);
  } finally {
    await db.drop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("DESPACITO_CONFIG: YAML and JSON settings files load under the production flags", async () => {
  await withDir(async (dir, dbUri) => {
    const files = {
      "despacito.yaml": "defaults:\n  goal: switch\npackages:\n  webapp:\n    on: '@web'\n",
      "despacito.json": JSON.stringify({ packages: { webapp: { timeout: "5m" } } }),
    };
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
      const server = await spawnServer({
        env: {
          DESPACITO_LISTEN: "127.0.0.1:0",
          DESPACITO_DATA_DIR: `${dir}/data`,
          DESPACITO_POSTGRES_CONNECTION_URI: dbUri,
          DESPACITO_CONFIG: `${dir}/${name}`,
        },
      });
      try {
        const res = await fetch(`${server.url}/health`);
        assert.equal(res.status, 200, name);
        await res.body?.cancel();
      } finally {
        assert.equal(await server.stop(), 0);
      }
    }
  });
});

Deno.test("DESPACITO_CONFIG: a broken settings file stops startup with exit 2 naming every problem", async () => {
  await withDir(async (dir, dbUri) => {
    const file = `${dir}/despacito.yaml`;
    await Deno.writeTextFile(file, "packages:\n  webapp:\n    goal: sideways\n    colour: red\n");
    const r = await runCli(["serve"], {
      DESPACITO_LISTEN: "127.0.0.1:0",
      DESPACITO_DATA_DIR: `${dir}/data`,
      DESPACITO_POSTGRES_CONNECTION_URI: dbUri,
      DESPACITO_CONFIG: file,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /packages\.webapp\.goal: one of switch/);
    assert.match(r.stderr, /packages\.webapp\.colour: unknown setting/);
  });
});
