/**
 * README stays true to the code: its configuration table is the one
 * generated from src/config/table.ts (`deno task docs` regenerates it), it
 * documents every foundation route, and it gives the two commands.
 */

import assert from "node:assert/strict";
import { configMarkdownTable } from "../src/config/help.ts";
import { loadConfig } from "../src/config/config.ts";
import type { Sql } from "../src/db/connect.ts";
import { routeTable } from "../src/http/app.ts";
import { buildAreas } from "../src/areas.ts";
import { openDatabase } from "../src/db/connect.ts";
import { loadMigrations, migrate } from "../src/db/migrate.ts";
import { freshDatabase } from "./_harness/postgres.ts";
import { silentLogger } from "../src/log/log.ts";
import { CONFIG_BEGIN, CONFIG_END, renderReadme } from "../src/build/docs.ts";
import { REPO_DIR } from "./_harness/server.ts";
import { VERSION_INFO } from "../src/version.ts";

const readme = await Deno.readTextFile(`${REPO_DIR}/README.md`);

/** Table rows as trimmed cells, separator rows dropped: formatting-insensitive. */
function rows(markdown: string): string[][] {
  return markdown.split("\n")
    .filter((l) => l.trim().startsWith("|") && !/^\|[\s|:-]+\|$/.test(l.trim()))
    .map((l) => l.trim().slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
}

Deno.test("README's configuration table is the one generated from src/config/table.ts", () => {
  const begin = readme.indexOf(CONFIG_BEGIN);
  const end = readme.indexOf(CONFIG_END);
  assert.ok(begin >= 0 && end > begin, "README has the config table markers");
  const inReadme = rows(readme.slice(begin + CONFIG_BEGIN.length, end));
  assert.deepEqual(
    inReadme,
    rows(configMarkdownTable()),
    "README's table is stale: run `deno task docs`",
  );
});

Deno.test("renderReadme() replaces only the text between the markers", () => {
  const doc = `intro\n${CONFIG_BEGIN}\nSTALE-TABLE\n${CONFIG_END}\noutro\n`;
  const out = renderReadme(doc);
  assert.ok(out.startsWith(`intro\n${CONFIG_BEGIN}\n| Variable |`));
  assert.ok(out.endsWith(`${CONFIG_END}\noutro\n`));
  assert.ok(!out.includes("STALE-TABLE"));
  assert.throws(() => renderReadme("no markers"), /markers/);
});

Deno.test("README documents the health routes and the two commands", () => {
  // Building the table runs no query; every area's routes are checked below.
  const deps = { sql: {} as unknown as Sql, migrations: [], version: VERSION_INFO, areas: [] };
  const routes = routeTable(deps);
  assert.ok(routes.length >= 2);
  for (const r of routes) {
    assert.ok(readme.includes(`${r.method} ${r.path}`), `README documents ${r.method} ${r.path}`);
  }
  assert.ok(readme.includes("npm install -g deno@2.9.6 && deno task start"));
  assert.ok(readme.includes("bash .ci/test"));
});

Deno.test("README documents every route of every area (all optional areas configured)", async () => {
  const pg = await freshDatabase();
  const dataDir = await Deno.makeTempDir({ prefix: "despacito-readme-" });
  const config = loadConfig({
    DESPACITO_POSTGRES_CONNECTION_URI: pg.uri,
    DESPACITO_DATA_DIR: dataDir,
    // Mounts the routes that exist only when configured (OIDC, forge); nothing is contacted.
    DESPACITO_OIDC_ISSUER_URLS: "http://127.0.0.1:9",
    DESPACITO_OIDC_CLIENT_ID: "readme",
    DESPACITO_OIDC_ALLOW_HTTP: "true",
    DESPACITO_BASE_URL: "https://despacito.example",
  });
  const db = await openDatabase({ postgresUri: pg.uri, dataDir, log: silentLogger });
  const stopping = new AbortController();
  try {
    const migrations = await loadMigrations();
    await migrate(db.sql, migrations, silentLogger);
    const { areas } = await buildAreas({
      config,
      log: silentLogger,
      sql: db.sql,
      stopping: stopping.signal,
    });
    const routes = routeTable({ sql: db.sql, migrations, version: VERSION_INFO, areas });
    const missing = routes.map((r) => `${r.method} ${r.path}`).filter((k) => !readme.includes(k));
    assert.deepEqual(missing, [], "routes README does not document");
  } finally {
    stopping.abort();
    await db.close();
    await pg.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("README's migrations table names every file in migrations/", async () => {
  const files: string[] = [];
  for await (const e of Deno.readDir(`${REPO_DIR}/migrations`)) {
    if (e.name.endsWith(".sql")) files.push(e.name);
  }
  assert.ok(files.length >= 5);
  const missing = files.sort().filter((f) => !readme.includes(`| \`${f}\``));
  assert.deepEqual(missing, [], "migrations README's table does not list");
});
