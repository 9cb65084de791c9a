import assert from "node:assert/strict";
import { type AuditRow, canonical, chainHash, createVerifier, GENESIS } from "./audit_chain.ts";

async function chain(n: number): Promise<AuditRow[]> {
  const rows: AuditRow[] = [];
  let prev = GENESIS;
  for (let id = 1; id <= n; id++) {
    const content = {
      id,
      at: new Date(Date.UTC(2026, 0, 1, 0, 0, id)),
      actorKind: "token" as const,
      actorId: "t1",
      actorLabel: "ci",
      action: "token.created",
      target: `token:${id}`,
      requestId: null,
      clientAddress: "127.0.0.1",
      details: { b: 1, a: [id] },
    };
    const hash = await chainHash(prev, content);
    rows.push({ ...content, prevHash: prev, hash });
    prev = hash;
  }
  return rows;
}

async function walk(rows: AuditRow[], head: AuditRow | null = rows.at(-1) ?? null) {
  const v = createVerifier();
  for (const r of rows) if (!(await v.next(r))) break;
  return v.end(head ? { lastId: head.id, hash: head.hash } : undefined);
}

Deno.test("canonical() does not depend on the key order of details", () => {
  const [r] = [{
    id: 1,
    at: new Date(0),
    actorKind: "cli" as const,
    actorId: null,
    actorLabel: null,
    action: "x",
    target: null,
    requestId: null,
    clientAddress: null,
  }];
  assert.equal(
    canonical({ ...r, details: { a: 1, b: { d: 2, c: 3 } } }),
    canonical({ ...r, details: { b: { c: 3, d: 2 }, a: 1 } }),
  );
});

Deno.test("createVerifier() accepts an intact chain and names the first bad row", async () => {
  const rows = await chain(5);
  assert.equal(await walk(rows), undefined);
  assert.equal(await walk([]), undefined);

  const edited = rows.map((r) => r.id === 2 ? { ...r, target: "token:99" } : r);
  assert.deepEqual((await walk(edited))?.rowId, 2);

  const gap = rows.filter((r) => r.id !== 3);
  assert.deepEqual(await walk(gap).then((p) => [p?.rowId, p?.kind]), [3, "deleted"]);

  const cut = rows.slice(0, 3);
  assert.deepEqual(await walk(cut, rows[4]).then((p) => [p?.rowId, p?.kind]), [4, "truncated"]);

  // Row 4 recomputed on a forged predecessor still fails where the forgery is.
  const forged = [...rows];
  forged[3] = { ...rows[3], prevHash: "f".repeat(64) };
  forged[3].hash = await chainHash(forged[3].prevHash, forged[3]);
  assert.deepEqual(
    await walk(forged, forged[4]).then((p) => [p?.rowId, p?.kind]),
    [4, "reordered"],
  );
  assert.equal((await walk(rows, null))?.kind, "head_missing");
});
