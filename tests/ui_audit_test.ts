/**
 * The Audit screen in real Chromium against a real despacito (child
 * process, production flags, real PostgreSQL): sign-ins and a CLI action
 * are listed with who and what, the action filter narrows the list, and
 * "Verify the chain" reports an intact trail, then — after a row is edited
 * directly in the database — the row that was tampered with.
 */

import assert from "node:assert/strict";
import postgres from "postgres";
import { screenshot } from "./_harness/chromium.ts";
import { freshDatabase } from "./_harness/postgres.ts";
import { addLocalUser, newPage, signedInState, withUiWorld } from "./_harness/ui_world.ts";

const PASSWORD = "correct horse battery";

Deno.test("Audit screen: lists who did what, filters by action, verifies the chain and names a tampered row", async () => {
  const db = await freshDatabase();
  const sql = postgres(db.uri, { max: 1, onnotice: () => {} });
  try {
    await withUiWorld({ databaseUri: db.uri }, async (w) => {
      await addLocalUser(w, "alice", PASSWORD);
      const state = await signedInState(w, "alice", PASSWORD);
      const { page } = await newPage(w, { storageState: state });
      await page.goto("/audit");
      await page.getByRole("heading", { name: "Audit" }).waitFor();
      const rows = page.locator("table tbody tr");
      await rows.first().waitFor();
      assert.equal(await rows.count(), 2);
      assert.match(await rows.nth(0).innerText(), /user alice[\s\S]*auth\.sign_in/);
      assert.match(await rows.nth(1).innerText(), /cli[\s\S]*user\.created/);

      await page.getByLabel("Action").selectOption("user.created");
      await page.waitForURL((u) => u.searchParams.get("action") === "user.created");
      await page.locator("table tbody tr", { hasText: "user.created" }).waitFor();
      assert.equal(await rows.count(), 1);

      await page.getByRole("button", { name: "Verify the chain" }).click();
      await page.getByRole("status").getByText("Intact: 2 rows, every link checks out.")
        .waitFor();
      await screenshot(page, "audit-intact");

      await sql`update audit_log set actor_label = 'mallory' where id = 1`;
      await page.getByRole("button", { name: "Verify the chain" }).click();
      await page.getByRole("alert").getByText(/^Tampered with at row 1: /).waitFor();
      await screenshot(page, "audit-tampered");
    });
  } finally {
    await sql.end();
    await db.drop();
  }
});
