import assert from "node:assert/strict";
import postgres from "postgres";
import { freshDatabase, startCluster } from "./postgres.ts";

Deno.test("freshDatabase() gives an empty, usable database on a real PostgreSQL server", async () => {
  const db = await freshDatabase();
  const sql = postgres(db.uri, { max: 1, onnotice: () => {} });
  try {
    const [{ version }] = await sql`select version()`;
    assert.match(version, /^PostgreSQL \d+/);
    assert.doesNotMatch(version, /PGlite/);
  } finally {
    await sql.end();
    await db.drop();
  }
});

Deno.test("a cluster whose owner died without stopping it is stopped and removed by the next startCluster()", async () => {
  const abandoned = await startCluster();
  const next = await (async () => {
    // Hand the first cluster to a process that has already exited, as a killed test run leaves it.
    const gone = new Deno.Command("true").spawn();
    await gone.status;
    const dir = (await reapDirOf(abandoned.port))!;
    await Deno.writeTextFile(`${dir}/owner`, String(gone.pid));
    return await startCluster();
  })();
  try {
    assert.equal(await reapDirOf(abandoned.port), undefined);
    const sql = postgres(abandoned.adminUri, { max: 1, connect_timeout: 2, onnotice: () => {} });
    await assert.rejects(sql`select 1`, /ECONNREFUSED|connect/);
    await sql.end();
    // The live cluster was left alone.
    const live = postgres(next.adminUri, { max: 1, onnotice: () => {} });
    assert.deepEqual([...await live`select 1 as one`], [{ one: 1 }]);
    await live.end();
  } finally {
    await next.destroy();
    await abandoned.destroy();
  }
});

/** The directory of the test cluster listening on `port` (its socket is in it). */
async function reapDirOf(port: number): Promise<string | undefined> {
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  for await (const e of Deno.readDir(tmp)) {
    if (!e.name.startsWith("despacito-pg-")) continue;
    try {
      await Deno.stat(`${tmp}/${e.name}/.s.PGSQL.${port}`);
      return `${tmp}/${e.name}`;
    } catch { /* not this one */ }
  }
  return undefined;
}
