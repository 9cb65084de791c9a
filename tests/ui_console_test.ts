/**
 * The operator's console (issue 17 items 1, 2, 7, 8, 9 and the tokens' part
 * of 10) in real Chromium against a real despacito (child process,
 * production permission flags, real PostgreSQL, git and nix fixture flakes,
 * the simulated colmena fleet), and the API additions behind them through
 * the same process: a node's page with its activations, whose revision
 * flake.lock pins, times written out, History's status set, version search
 * and failure reasons, token scopes from the flake's inputs (422 for any
 * other name), and screens that recover by themselves after an outage
 * (the TCP proxy in front of despacito refuses every connection, then
 * accepts again).
 */

import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { type DeploymentJson, STORE_PATH } from "./_harness/deploy_env.ts";
import { screenshot } from "./_harness/chromium.ts";
import { newPage } from "./_harness/ui_world.ts";
import { type DeployUiWorld, withDeployUiWorld } from "./_harness/ui_deploy_world.ts";
import { SCREEN_MODES, until } from "./_harness/ui_page.ts";

async function queue(w: DeployUiWorld, version: string, flakeRef?: string): Promise<string> {
  const r = await w.deploy.webhook({
    package: "webapp",
    version,
    nix_store_path: STORE_PATH,
    flake_ref: flakeRef ?? `${w.deploy.webapp.url}?ref=refs/tags/v${version}`,
  }, "?wait=false");
  const json = await r.json();
  assert.equal(r.status, 202, JSON.stringify(json));
  return json.deployment_id;
}

const finished = (d: DeploymentJson) => d.status !== "queued" && d.status !== "running";

/** The versions of the rows a History-like table shows, top to bottom. */
async function rowVersions(page: Page): Promise<string[]> {
  const names = await page.locator("main tbody th[scope=row] a").allInnerTexts();
  return names.map((n) => n.trim());
}

async function rowsAre(page: Page, expected: string[], what: string) {
  let got: string[] = [];
  await until(page, async () => {
    got = await rowVersions(page);
    return JSON.stringify(got) === JSON.stringify(expected);
  }, what).catch((e) => {
    throw new Error(`${e.message}; rows ${JSON.stringify(got)}`);
  });
}

Deno.test("the operator's console: node page, overview, times, history, tokens, recovery", async (t) => {
  await withDeployUiWorld(async (w) => {
    const { deploy, proxy } = w;
    // The flake_ref as a forge or a script may send it: percent-encoded.
    const good = await queue(w, "1.1.0", `${deploy.webapp.url}?ref=refs%2Ftags%2Fv1.1.0`);
    const ok = await deploy.waitDeployment(good, finished);
    assert.equal(ok.status, "deployed", ok.error);
    // Fails on beta, and the fleet rollback fails on alpha: failed, and webapp is held.
    await deploy.colmena.set({ failNode: "beta", plan: [{}, { failNodes: ["alpha"] }] });
    const bad = await queue(w, "1.2.0");
    const failed = await deploy.waitDeployment(bad, finished);
    assert.equal(failed.status, "failed");
    await deploy.colmena.set({ failNode: "", plan: [] });
    const { context, page } = await newPage(w, w.signedIn);

    await t.step("API: version and node filters, each bad one a 400 naming the field", async () => {
      const list = async (q: string) => {
        const r = await deploy.fetch(`/api/deployments?${q}`);
        const body = await r.json();
        return { status: r.status, body };
      };
      const versions = async (q: string) =>
        (await list(q)).body.deployments.map((d: DeploymentJson) => d.version);
      assert.deepEqual(await versions("version=1.2"), ["1.2.0"]);
      assert.deepEqual(await versions("version=1."), ["1.2.0", "1.1.0"]);
      assert.deepEqual(await versions("version=1.3"), []);
      // Text, not a pattern: "%" and "_" are not wildcards.
      assert.deepEqual(await versions("version=%25"), []);
      assert.deepEqual(await versions("node=beta"), ["1.2.0", "1.1.0"]);
      assert.deepEqual(await versions("node=gamma"), []);
      assert.deepEqual(await versions("node=beta&status=failed&version=1.2"), ["1.2.0"]);
      for (
        const [q, field] of [
          ["version=", "version"],
          ["version=a%20b", "version"],
          [`version=${"x".repeat(129)}`, "version"],
          ["node=", "node"],
          ["node=-x", "node"],
          ["node=a%2Fb", "node"],
        ]
      ) {
        const r = await list(q);
        assert.equal(r.status, 400, q);
        assert.equal(r.body.error.code, "invalid_request", q);
        assert.deepEqual(r.body.error.details.map((d: { field: string }) => d.field), [field], q);
      }
    });

    await t.step("API: a token scoped to a package the flake lacks is refused, 422", async () => {
      const create = (packages: string[]) =>
        deploy.fetch("/api/tokens", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ description: "scoped", packages }),
        });
      const r = await create(["webapp", "no-such-package"]);
      const body = await r.json();
      assert.equal(r.status, 422, JSON.stringify(body));
      assert.equal(body.error.code, "unknown_package");
      assert.match(body.error.message, /packages: "no-such-package" is not an input/);
      assert.deepEqual(body.error.details.map((d: { field: string }) => d.field), ["packages"]);
      const tokens = (await (await deploy.fetch("/api/tokens")).json()).tokens;
      assert.equal(tokens.some((x: { description: string }) => x.description === "scoped"), false);
      const made = await create(["api", "webapp"]);
      assert.equal(made.status, 201);
      assert.deepEqual((await made.json()).packages, ["api", "webapp"]);
    });

    await t.step("item 1: the Fleet links each node to its page of activations", async () => {
      await page.goto("/fleet");
      await page.getByRole("link", { name: "beta", exact: true }).click();
      await page.waitForURL("**/fleet/beta");
      await page.getByRole("heading", { name: "beta", level: 1 }).waitFor();
      await until(page, async () => (await page.title()) === "beta · despacito", "the tab title");
      await rowsAre(page, ["webapp 1.2.0", "webapp 1.1.0"], "beta's two activations");
      const failedRow = page.locator("main tbody tr", { hasText: "webapp 1.2.0" });
      const onNode = failedRow.locator("td[data-label='On this node']");
      await onNode.locator(".badge", { hasText: "failed" }).waitFor();
      assert.match(await onNode.innerText(), /Activation failed/);
      // beta was then put back by the fleet rollback.
      await onNode.getByText("then rolled back:").locator(".badge", { hasText: "succeeded" })
        .waitFor();
      const okRow = page.locator("main tbody tr", { hasText: "webapp 1.1.0" });
      await okRow.locator("td[data-label='On this node'] .badge", { hasText: "succeeded" })
        .waitFor();
      // What it runs now, and the hold on a package it runs, with Release.
      const facts = page.locator("dl.facts");
      await facts.locator("dd", { hasText: "webapp 1.1.0" }).waitFor();
      await facts.locator(".badge", { hasText: "rolled_back" }).waitFor();
      const held = page.locator("p.held", { hasText: "webapp is held since" });
      await held.getByRole("button", { name: "Release" }).waitFor();
      await page.goto("/fleet/gamma");
      await page.getByRole("heading", { name: "No such node" }).waitFor();
      await page.getByRole("link", { name: "Go to the fleet" }).click();
      await page.waitForURL("**/fleet");
    });

    await t.step("item 2: decoded URLs, and whose revision flake.lock pins", async () => {
      const pkgs = (await (await deploy.fetch("/api/packages")).json()).packages;
      const api = pkgs.find((p: { name: string }) => p.name === "api");
      assert.match(api.declared_url, /%2F/, "the pinned input's ref is encoded by the server");
      await page.goto("/");
      const apiRow = page.locator("main tbody tr", { hasText: "api" }).first();
      const url = apiRow.locator("th .wrap");
      assert.equal(await url.getAttribute("title"), api.declared_url);
      assert.equal(await url.innerText(), decodeURIComponent(api.declared_url));
      assert.match(await url.innerText(), /\?ref=refs\/tags\/v2\.0\.0$/);
      // webapp's 1.2.0 failed and its lock change was reverted: the lock is 1.1.0's again.
      const webapp = page.locator("main tbody tr", { hasText: "webapp" }).first();
      await webapp.locator("td[data-label='flake.lock pins']", {
        hasText: "1.1.0's, running now",
      }).waitFor();
      await webapp.locator("td[data-label='Latest request'] .badge", { hasText: "failed" })
        .waitFor();
      // The deployment page shows the flake_ref decoded, the raw one on hover.
      await page.goto(`/deployments/${good}`);
      const ref = page.locator("dl.facts code.wrap");
      await ref.waitFor();
      assert.equal(await ref.innerText(), `${deploy.webapp.url}?ref=refs/tags/v1.1.0`);
      assert.equal(await ref.getAttribute("title"), ok.flake_ref);
    });

    await t.step("item 8: absolute times beside relative ones; finish and total time", async () => {
      // Still on the deployment page: Finished written out in full, and Took.
      const facts = page.locator("dl.facts").first();
      assert.match(
        await facts.locator("dt:text-is('Finished') + dd").innerText(),
        /ago|just now/,
      );
      assert.match(
        await facts.locator("dt:text-is('Finished') + dd .aside").innerText(),
        /\d{1,2}:\d{2}:\d{2}.*(CET|CEST|GMT\+\d)/,
      );
      assert.match(await facts.locator("dt:text-is('Took') + dd").innerText(), /\d/);
      // Lists: the clock time beside "… ago" (the browser runs in Europe/Berlin).
      const berlin = (iso: string) =>
        new Date(iso).toLocaleTimeString("en-US", {
          hour: "2-digit",
          minute: "2-digit",
          timeZone: "Europe/Berlin",
        });
      await page.goto("/deployments");
      const row = page.locator("main tbody tr", { hasText: "webapp 1.1.0" });
      await until(
        page,
        async () =>
          (await row.locator("td[data-label='Requested'] .aside").count()) === 1 &&
          (await row.locator("td[data-label='Requested'] .aside").innerText()) ===
            `(${berlin(ok.created_at)})`,
        "the request's clock time in History",
      );
    });

    await t.step("item 9: History filters by any set of statuses and by version", async () => {
      const released = await deploy.fetch("/api/packages/webapp/release", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{}",
      });
      assert.equal(released.status, 200, await released.text());
      await deploy.webapp.release("1.3.0");
      const third = await queue(w, "1.3.0");
      assert.equal((await deploy.waitDeployment(third, finished)).status, "deployed");
      await page.goto("/deployments");
      await rowsAre(page, ["webapp 1.3.0", "webapp 1.2.0", "webapp 1.1.0"], "every deployment");
      const box = (s: string) => page.locator("fieldset.choices").getByLabel(s, { exact: true });
      await box("failed").check();
      await page.waitForURL((u) => u.searchParams.get("status") === "failed");
      await rowsAre(page, ["webapp 1.2.0"], "the failed one");
      // The reason is in the row: the headline and the failing node.
      const reason = page.locator("main tbody tr .reason");
      assert.match(await reason.innerText(), /^Activation failed\. activation failed on beta/);
      await box("deployed").check();
      await page.waitForURL((u) => u.searchParams.get("status") === "deployed,failed");
      await rowsAre(page, ["webapp 1.3.0", "webapp 1.2.0", "webapp 1.1.0"], "deployed or failed");
      await page.getByLabel("Version contains").fill("1.1");
      await page.getByRole("button", { name: "Search" }).click();
      await page.waitForURL((u) => u.searchParams.get("version") === "1.1");
      await rowsAre(page, ["webapp 1.1.0"], "the search result");
      // Back and Forward move the list and the search field together.
      const field = page.getByLabel("Version contains");
      await page.goBack();
      await rowsAre(page, ["webapp 1.3.0", "webapp 1.2.0", "webapp 1.1.0"], "back: no search");
      await until(page, async () => (await field.inputValue()) === "", "the field emptied");
      await page.goForward();
      await rowsAre(page, ["webapp 1.1.0"], "forward: the search again");
      await until(page, async () => (await field.inputValue()) === "1.1", "the field refilled");
      await box("deployed").uncheck();
      await rowsAre(page, [], "nothing failed in 1.1");
      await page.getByText("No deployment matches.").waitFor();
      // The address holds the filter: a reload shows the same.
      await page.goto("/deployments?status=failed,deployed&version=1.");
      await rowsAre(page, ["webapp 1.3.0", "webapp 1.2.0", "webapp 1.1.0"], "from the address");
      assert.equal(await box("failed").isChecked(), true);
      assert.equal(await box("running").isChecked(), false);
    });

    await t.step("item 10: token scope from the flake's inputs; Expires starts over", async () => {
      await page.goto("/tokens");
      const scope = page.locator("fieldset.choices");
      await scope.getByLabel("api", { exact: true }).waitFor();
      await scope.getByLabel("webapp", { exact: true }).check();
      await page.getByLabel("Description").fill("deploy-webapp");
      const expires = page.getByLabel("Expires");
      await expires.selectOption({ label: "30 days" });
      await page.getByRole("button", { name: "Create token" }).click();
      const shown = page.getByRole("dialog", { name: "Your new token" });
      await shown.waitFor();
      await shown.getByRole("button", { name: /close/ }).click();
      await shown.waitFor({ state: "detached" });
      const row = page.locator("main tbody tr", { hasText: "deploy-webapp" });
      assert.equal((await row.locator("td[data-label='Scope']").innerText()).trim(), "webapp");
      assert.equal(await expires.inputValue(), "", "Expires back to never");
      assert.equal(await scope.getByLabel("webapp", { exact: true }).isChecked(), false);
      assert.equal(await page.getByLabel("Description").inputValue(), "");
      // Whatever the form sends, the server has the last word: an unknown name gets its 422
      // and the form says so (the request is rewritten on its way, as a stale page would send).
      await page.route("**/api/tokens", async (route) => {
        const req = route.request();
        if (req.method() !== "POST") return await route.continue();
        const body = JSON.parse(req.postData() ?? "{}");
        await route.continue({
          postData: JSON.stringify({ ...body, packages: ["no-such-package"] }),
        });
      });
      await scope.getByLabel("api", { exact: true }).check();
      await page.getByLabel("Description").fill("stale");
      await page.getByRole("button", { name: "Create token" }).click();
      await page.locator("form .error", { hasText: /packages: "no-such-package" is not an input/ })
        .waitFor();
      await page.unroute("**/api/tokens");
    });

    await t.step("the new screens in light, dark and at phone width (screenshots)", async () => {
      for (const mode of SCREEN_MODES) {
        const { context, page } = await newPage(w, { ...w.signedIn, ...mode });
        for (
          const [name, path, ready] of [
            ["node", "/fleet/beta", "Activations"],
            ["history-search", "/deployments?status=failed,deployed&version=1.", "History"],
            ["tokens-scope", "/tokens", "New token"],
          ]
        ) {
          await page.goto(path);
          await page.getByRole("heading", { name: ready }).waitFor();
          await page.locator("main tbody tr").first().waitFor();
          await screenshot(page, `${name}-${mode.name}`);
        }
        await context.close();
      }
    });

    await t.step("item 7: screens recover by themselves after an outage", async () => {
      const far = await newPage(w, { ...w.signedIn, baseUrl: proxy.url });
      const p = far.page;
      // Time runs as usual, but the test can also jump it ahead (the page's 15 s clock).
      await p.clock.install();
      try {
        // Tokens loads once (no timer): its error must still go when despacito is back.
        await p.goto("/");
        await p.getByRole("heading", { name: "Queue" }).waitFor();
        await p.locator("main tbody tr", { hasText: "webapp" }).first().waitFor();
        await p.getByText("Nothing running or waiting.").waitFor();
        proxy.refuse();
        // Overview keeps what it showed, says since when, and offers Retry.
        const note = p.locator("main p.error", { hasText: "did not answer" }).first();
        await note.waitFor();
        assert.match(await note.innerText(), /last updated/);
        await note.getByRole("button", { name: "Retry" }).waitFor();
        await p.locator("main tbody tr", { hasText: "webapp" }).first().waitFor();
        await screenshot(p, "overview-unreachable-light");
        await p.getByRole("link", { name: "Tokens", exact: true }).click();
        await p.locator("main p.error", { hasText: "did not answer" }).first().waitFor();
        proxy.accept();
        await p.locator("main tbody tr", { hasText: "deploy-webapp" }).waitFor();
        await until(
          p,
          async () => (await p.locator("main p.error").count()) === 0,
          "every error on Tokens to clear without a click",
        );

        // A running deployment while despacito is unreachable: no ticking, no Cancel.
        await deploy.colmena.set({ mode: "hold" });
        await deploy.webapp.release("1.4.0");
        const running = await queue(w, "1.4.0");
        await deploy.colmena.waitFor((runs) => runs.length > 0, "colmena to start");
        await deploy.waitDeployment(running, (d) => d.status === "running");
        await p.goto(`/deployments/${running}`);
        const cancel = p.getByRole("button", { name: "Cancel deployment" });
        await cancel.waitFor();
        await p.getByRole("status").filter({ hasText: "live" }).waitFor();
        proxy.refuse();
        const warning = p.locator("p.warning", { hasText: "despacito does not answer" });
        await warning.waitFor();
        assert.equal(await cancel.isDisabled(), true);
        // Its clock stands still: a minute later it still reads what it read when it lost despacito.
        const took = p.locator("dl.facts dt:text-is('Took') + dd").first();
        const before = await took.innerText();
        assert.match(before, /so far/);
        await p.clock.fastForward("01:00");
        assert.equal(await took.innerText(), before);
        await screenshot(p, "deployment-unreachable-light");
        // It ends while the page cannot hear it.
        await deploy.colmena.set({ mode: "ok" });
        await deploy.colmena.release();
        assert.equal((await deploy.waitDeployment(running, finished)).status, "deployed");
        proxy.accept();
        await p.locator(".title-row .badge", { hasText: "deployed" }).waitFor({
          timeout: 30_000,
        });
        await warning.waitFor({ state: "detached" });
        // Each loader of the page recovers on its own answer: wait for the last, don't read once.
        await until(p, async () => (await p.locator("main p.error").count()) === 0, "no error");

        // History open during an outage shows the outcome once it is back.
        await deploy.colmena.set({ mode: "hold" });
        await deploy.webapp.release("1.5.0");
        const later = await queue(w, "1.5.0");
        await deploy.waitDeployment(later, (d) => d.status === "running");
        await p.goto("/deployments");
        const row = p.locator("main tbody tr", { hasText: "webapp 1.5.0" });
        await row.locator(".badge", { hasText: "running" }).waitFor();
        proxy.refuse();
        await p.locator("main p.error", { hasText: "did not answer" }).waitFor();
        await deploy.colmena.set({ mode: "ok" });
        await deploy.colmena.release();
        assert.equal((await deploy.waitDeployment(later, finished)).status, "deployed");
        proxy.accept();
        await row.locator(".badge", { hasText: "deployed" }).waitFor();
        await until(p, async () => (await p.locator("main p.error").count()) === 0, "no error");
      } finally {
        proxy.accept();
        await far.context.close();
      }
    });
    await context.close();
  }, { pins: { api: "refs/tags/v2.0.0" } });
});
