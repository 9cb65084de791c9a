import assert from "node:assert/strict";
import postgres from "postgres";
import { freshDatabase } from "./postgres.ts";

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
