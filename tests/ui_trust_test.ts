/**
 * Roll back, retry and release from the browser (real Chromium) against a
 * real despacito (child process, production permission flags, real
 * PostgreSQL, git and nix fixture flakes, the simulated colmena fleet),
 * with a command check configured for webapp. Each button asks first in a
 * dialog that says what will happen; every outcome is checked on the page,
 * in despacito's record and on the simulated nodes.
 */

import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import {
  CANARY_FLEET,
  CANARY_STAGES,
  type DeploymentJson,
  STORE_PATH,
} from "./_harness/deploy_env.ts";
import { screenshot } from "./_harness/chromium.ts";
import { newPage } from "./_harness/ui_world.ts";
import { type DeployUiWorld, withDeployUiWorld } from "./_harness/ui_deploy_world.ts";
import { until } from "./_harness/ui_page.ts";
import { axeViolations, cspViolations, watchCsp } from "./_harness/ui_checks.ts";

const SETTINGS = `packages:
  webapp:
    checks:
      - name: unit
        command: ["systemctl", "is-active", "webapp"]
`;

async function queue(w: DeployUiWorld, version: string): Promise<string> {
  const r = await w.deploy.webhook({
    package: "webapp",
    version,
    nix_store_path: STORE_PATH,
    flake_ref: `${w.deploy.webapp.url}?ref=refs/tags/v${version}`,
  }, "?wait=false");
  const json = await r.json();
  assert.equal(r.status, 202, JSON.stringify(json));
  return json.deployment_id;
}

const finished = (d: DeploymentJson) => d.status !== "queued" && d.status !== "running";

/** The webapp version each simulated node runs (by the tag its lock names). */
async function fleet(w: DeployUiWorld): Promise<Record<string, string | undefined>> {
  const byRev = Object.fromEntries(
    Object.entries(w.deploy.webapp.tags).map(([t, r]) => [r, t.replace(/^v/, "")]),
  );
  const out: Record<string, string | undefined> = {};
  for (const n of ["alpha", "beta"]) {
    const rev = (await w.deploy.colmena.node(n))?.revs.webapp;
    out[n] = rev ? byRev[rev] : undefined;
  }
  return out;
}

async function stepsShown(page: Page): Promise<string[]> {
  const rows = await page.locator("#steps-title + .table-wrap tbody tr").allInnerTexts();
  return rows.map((s) => s.split(/\s+/).slice(0, 2).join(" "));
}

/** The dialog's buttons: never a bare "Cancel", which would sit next to "Cancel deployment". */
async function dialogButtons(page: Page, name: string): Promise<string[]> {
  const dialog = page.getByRole("dialog", { name });
  await dialog.waitFor();
  return (await dialog.getByRole("button").allInnerTexts()).map((s) => s.trim());
}

Deno.test("roll back, retry and release from the browser", async (t) => {
  await withDeployUiWorld(async (w) => {
    const { deploy } = w;
    const first = await queue(w, "1.1.0");
    await deploy.waitDeployment(first, (d) => d.status === "deployed");
    const second = await queue(w, "1.2.0");
    await deploy.waitDeployment(second, (d) => d.status === "deployed");
    assert.deepEqual(await fleet(w), { alpha: "1.2.0", beta: "1.2.0" });
    const { context, page } = await newPage(w, w.signedIn);

    await t.step("a deployed deployment shows its checks and who asked for it", async () => {
      await page.goto(`/deployments/${second}`);
      await page.getByRole("heading", { name: "webapp 1.2.0" }).waitFor();
      await page.getByText("ci-runner-1 (token)").waitFor();
      await until(page, async () => (await page.title()) === "webapp 1.2.0 · despacito", "title");
      const facts = page.locator("dl.facts").first();
      await facts.getByText("deployment", { exact: true }).waitFor();
      const check = page.locator("#checks-title + .table-wrap tbody tr");
      await until(page, async () => (await check.count()) === 1, "the checks table");
      const text = await check.innerText();
      assert.match(text, /^unit\s+passed/);
      assert.match(text, /alpha: passed/);
      assert.match(text, /beta: passed/);
      assert.match(text, /command: .*systemctl is-active webapp/);
      assert.deepEqual(await stepsShown(page), [
        "queued ok",
        "preflight ok",
        "flake ok",
        "commit ok",
        "activate ok",
        "verify ok",
      ]);
      // When it ran, written out (phones cannot hover), and how long it took.
      for (const fact of ["Started", "Finished", "Took"]) {
        await facts.locator("dt", { hasText: fact }).waitFor();
      }
      assert.match(await facts.locator("dt:text-is('Took') + dd").innerText(), /^\d+(\.\d)? m?s$/);
      // Deployed: roll back to it, but nothing to retry.
      await page.getByRole("button", { name: "Roll back to this version" }).waitFor();
      assert.equal(await page.getByRole("button", { name: "Retry" }).count(), 0);
    });

    await t.step("Roll back to this version asks first, then deploys the earlier one", async () => {
      const d1 = await deploy.waitDeployment(first, finished);
      await page.goto(`/deployments/${first}`);
      await page.getByRole("heading", { name: "webapp 1.1.0" }).waitFor();
      await page.getByRole("button", { name: "Roll back to this version" }).click();
      const title = "Roll webapp back to 1.1.0?";
      assert.deepEqual(await dialogButtons(page, title), ["Don't roll back", "Roll back"]);
      const dialog = page.getByRole("dialog", { name: title });
      assert.match(await dialog.innerText(), /pins the flake input to revision/);
      await dialog.locator(`code[title="${d1.locked_rev}"]`).waitFor();
      await screenshot(page, "rollback-dialog-light");
      // "Don't roll back" leaves everything as it was.
      await dialog.getByRole("button", { name: "Don't roll back" }).click();
      await dialog.waitFor({ state: "detached" });
      assert.equal(page.url().endsWith(`/deployments/${first}`), true);

      await page.getByRole("button", { name: "Roll back to this version" }).click();
      await dialog.getByRole("button", { name: "Roll back", exact: true }).click();
      await page.waitForURL((u) => !u.pathname.endsWith(first));
      const id = new URL(page.url()).pathname.split("/").at(-1)!;
      const rb = await deploy.waitDeployment(id, finished);
      assert.equal(rb.status, "deployed", rb.error);
      assert.equal(rb.kind, "rollback");
      assert.equal(rb.rollback_to, first);
      assert.equal(rb.triggered_by.kind, "session");
      await page.locator(".title-row .badge", { hasText: "deployed" }).waitFor();
      await page.getByText(/^rollback to/).waitFor();
      assert.equal(
        await page.getByRole("link", { name: "the earlier deployment" }).getAttribute("href"),
        `/deployments/${first}`,
      );
      await page.getByText(`${rb.triggered_by.label} (session)`).waitFor();
      assert.deepEqual(await fleet(w), { alpha: "1.1.0", beta: "1.1.0" });
    });

    let bad = "";
    await t.step("a rollback that fails holds the package: the page says so", async () => {
      // The activation fails on beta, and the rollback's activation fails on alpha.
      await deploy.colmena.set({ failNode: "beta", plan: [{}, { failNodes: ["alpha"] }] });
      await deploy.webapp.release("1.3.0");
      // History open while it runs refreshes by itself: the new row appears and ends failed.
      await page.goto("/deployments?package=webapp");
      await page.locator("tbody tr").first().waitFor();
      bad = await queue(w, "1.3.0");
      const d = await deploy.waitDeployment(bad, finished);
      assert.equal(d.status, "failed");
      assert.equal(d.rollback.status, "failed");
      const row = page.locator("tbody tr", { hasText: "webapp 1.3.0" });
      await row.locator(".badge", { hasText: "failed" }).waitFor();
      await row.locator(".reason", { hasText: "activation failed on beta" }).waitFor();
      await page.goto(`/deployments/${bad}`);
      await page.getByRole("heading", { name: "webapp 1.3.0" }).waitFor();
      // The banner: what went wrong in a word (failure_code), then the server's sentence.
      assert.equal(d.failure_code, "activation_failed");
      const banner = page.locator("main > p.error", { hasText: d.error });
      assert.equal(await banner.locator("strong").innerText(), "Activation failed.");
      assert.deepEqual(await stepsShown(page), [
        "queued ok",
        "preflight ok",
        "flake ok",
        "commit ok",
        "activate failed",
        "restore ok",
        "rollback failed",
      ]);
      const rollback = page.locator("section", { has: page.locator("#rollback-title") });
      await rollback.locator(".title-row .badge", { hasText: "failed" }).waitFor();
      await rollback.locator(`code[title="${d.rollback.commit_sha}"]`).waitFor();
      const nodes = (await rollback.locator(".nodes li").allTextContents()).sort();
      assert.equal(nodes.length, d.rollback.nodes.length);
      assert.match(nodes.find((n) => n.includes("alpha"))!, /^failed alpha/);
      // The log marks the lines that read like an error (not stderr as such); jump to the first.
      const marked = page.locator(".log [data-error]");
      assert.match(await marked.first().innerText(), /^ beta \| Activation failed/);
      assert.equal(
        await page.locator(".log .line:not([data-error])", { hasText: "alpha | Activating" })
          .count(),
        2,
        "colmena's progress is not marked",
      );
      await page.locator(".log").evaluate("(el) => { el.scrollTop = el.scrollHeight; }");
      await page.getByRole("button", { name: "First error" }).click();
      await page.locator('.log[data-following="false"]').waitFor();
      await until(page, () =>
        page.evaluate<boolean>(`(() => {
          const log = document.querySelector(".log").getBoundingClientRect();
          const line = document.querySelector(".log [data-error]").getBoundingClientRect();
          return line.top >= log.top && line.bottom <= log.bottom;
        })()`), "the first error line in view");
      const held = page.locator("p.held");
      await held.getByText("webapp is held").waitFor();
      await held.getByRole("button", { name: "Release" }).waitFor();
      await screenshot(page, "deployment-held-light");

      // Retry while held: the dialog shows the server's refusal, nothing is queued.
      await page.getByRole("button", { name: "Retry" }).click();
      const title = "Retry webapp 1.3.0?";
      assert.deepEqual(await dialogButtons(page, title), ["Don't retry", "Retry deployment"]);
      const dialog = page.getByRole("dialog", { name: title });
      assert.match(await dialog.innerText(), /same request: webapp 1\.3\.0, flake ref/);
      await dialog.getByRole("button", { name: "Retry deployment" }).click();
      await dialog.getByRole("alert").filter({ hasText: /held/ }).waitFor();
      await dialog.getByRole("button", { name: "Don't retry" }).click();
      assert.equal(page.url().endsWith(`/deployments/${bad}`), true);

      await page.goto("/fleet");
      const rows = page.locator("main tbody tr");
      await until(page, async () => (await rows.count()) === 2, "both nodes");
      const alpha = await page.locator("tr", { hasText: "alpha" }).innerText();
      assert.match(alpha, /rollback_failed/);
      assert.match(alpha, /webapp 1\.3\.0/);
      assert.match(await page.locator("tr", { hasText: "beta" }).innerText(), /rolled_back/);
      await page.locator("p.held", { hasText: "webapp is held since" })
        .getByRole("button", { name: "Release" }).waitFor();
      // A drift check: alpha still runs 1.3.0 where the flake's HEAD says 1.1.0; beta is right.
      await page.getByRole("button", { name: "Check drift now" }).click();
      await page.locator("tr", { hasText: "alpha" }).locator(".badge", { hasText: "drifted" })
        .waitFor();
      await page.locator("tr", { hasText: "beta" }).locator(".badge", { hasText: "in_sync" })
        .waitFor();
      await screenshot(page, "fleet-light");
    });

    await t.step("Overview shows the hold; Release asks first, then ends it", async () => {
      await page.goto("/");
      const row = page.locator("tr", { hasText: "webapp" });
      await row.locator(".held .badge", { hasText: "held" }).waitFor();
      await screenshot(page, "overview-held-light");
      await row.getByRole("button", { name: "Release" }).click();
      assert.deepEqual(await dialogButtons(page, "Release webapp?"), [
        "Keep it held",
        "Release webapp",
      ]);
      const dialog = page.getByRole("dialog", { name: "Release webapp?" });
      assert.match(await dialog.innerText(), /changes nothing on the nodes/);
      await dialog.getByRole("button", { name: "Release webapp" }).click();
      await row.locator(".held").waitFor({ state: "detached" });
      const pkgs = (await (await deploy.fetch("/api/packages")).json()).packages;
      assert.equal(pkgs.find((p: { name: string }) => p.name === "webapp").held, null);
    });

    await t.step("Retry asks first, then runs the same request again", async () => {
      await deploy.colmena.set({ failNode: "", plan: [] });
      await page.goto(`/deployments/${bad}`);
      await page.getByRole("button", { name: "Retry" }).click();
      const dialog = page.getByRole("dialog", { name: "Retry webapp 1.3.0?" });
      await dialog.getByRole("button", { name: "Retry deployment" }).click();
      await page.waitForURL((u) => !u.pathname.endsWith(bad));
      const id = new URL(page.url()).pathname.split("/").at(-1)!;
      const d = await deploy.waitDeployment(id, finished);
      assert.equal(d.status, "deployed", d.error);
      assert.equal(d.retry_of, bad);
      await page.locator(".title-row .badge", { hasText: "deployed" }).waitFor();
      assert.equal(
        await page.getByRole("link", { name: "the earlier attempt" }).getAttribute("href"),
        `/deployments/${bad}`,
      );
      assert.deepEqual(await fleet(w), { alpha: "1.3.0", beta: "1.3.0" });

      // History: every deployed row but the one webapp runs now offers the rollback.
      await page.goto("/deployments?package=webapp&status=deployed");
      const rows = page.locator("tbody tr");
      await until(page, async () => (await rows.count()) === 4, "four deployed rows");
      await until(
        page,
        async () =>
          (await rows.getByRole("button", { name: "Roll back to this version" }).count()) === 3,
        "a rollback button on all but the current one",
      );
      assert.equal(
        await rows.filter({ has: page.locator(`a[href="/deployments/${id}"]`) }).getByRole(
          "button",
        ).count(),
        0,
      );
    });
    await t.step("a deployment that does not exist gets a page that says so", async () => {
      await page.goto("/deployments/00000000-0000-4000-8000-000000000000");
      await page.getByRole("heading", { name: "No such deployment" }).waitFor();
      await page.getByRole("link", { name: "Go to the history" }).click();
      await page.waitForURL("**/deployments");
    });
    await context.close();
  }, { settings: SETTINGS });
});

Deno.test("a manual stage waits for Promote, which asks first", async () => {
  await withDeployUiWorld(async (w) => {
    const { deploy } = w;
    await deploy.colmena.set({ nodes: CANARY_FLEET });
    const id = await queue(w, "1.1.0");
    await deploy.waitDeployment(id, (d) => d.awaiting_promotion === "canary");
    // The canary runs the new version, the rest of the fleet does not yet.
    assert.deepEqual(await fleet(w), { alpha: "1.1.0", beta: "1.0.0" });
    const { context, page } = await newPage(w, w.signedIn);
    // This screen and its dialog need a staged package: audited here (axe, CSP), not in ui_a11y.
    const cspConsole: string[] = [];
    await watchCsp(page, cspConsole);
    await page.goto(`/deployments/${id}`);
    await page.getByRole("status").filter({ hasText: "Stage canary is done" }).waitFor();
    const promotion = page.locator("#steps-title + .table-wrap tbody tr", {
      hasText: "promotion",
    });
    await promotion.locator(".badge", { hasText: "running" }).waitFor();
    assert.match(await promotion.innerText(), /promotion\s*canary/);
    await screenshot(page, "deployment-awaiting-promotion-light");
    await page.getByRole("button", { name: "Promote" }).click();
    const title = "Promote webapp 1.1.0 past canary?";
    assert.deepEqual(await dialogButtons(page, title), ["Keep waiting", "Promote"]);
    const dialog = page.getByRole("dialog", { name: title });
    assert.match(await dialog.innerText(), /activates webapp 1\.1\.0 on that stage's nodes/);
    assert.deepEqual(await axeViolations(page), [], "axe, the Promote dialog open");
    await dialog.getByRole("button", { name: "Keep waiting" }).click();
    await dialog.waitFor({ state: "detached" });
    assert.deepEqual(await axeViolations(page), [], "axe, awaiting promotion");
    assert.deepEqual([...(await cspViolations(page)), ...cspConsole], [], "CSP");
    await page.getByRole("button", { name: "Promote" }).click();
    await dialog.getByRole("button", { name: "Promote" }).click();
    await page.locator(".title-row .badge", { hasText: "deployed" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Promote" }).count(), 0);
    const d = await deploy.waitDeployment(id, finished);
    assert.equal(d.status, "deployed", d.error);
    assert.deepEqual(await fleet(w), { alpha: "1.1.0", beta: "1.1.0" });
    const applies = (await deploy.colmena.runs()).filter((r) => r.argv[0] === "apply");
    assert.deepEqual(applies.map((r) => r.argv.slice(2).join(" ")), ["--on @canary", "--on @web"]);
    await context.close();
  }, { settings: CANARY_STAGES });
});
