/**
 * The Repositories screen and forge-triggered deployments in real Chromium,
 * against a real despacito (child process, production permission flags,
 * real PostgreSQL, git/nix fixture flakes, fake colmena) and the fake
 * Forgejo API: connect with an admin PAT (webhook created) and without
 * (manual instructions), a release delivered by the forge deploys and its
 * commit statuses show on the deployment page, rotate the secret,
 * disconnect. Screenshots light/dark/phone.
 */

import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { screenshot } from "./_harness/chromium.ts";
import { type FakeForgejo, releasePayload, startFakeForgejo } from "./_harness/fake_forgejo.ts";
import { newPage } from "./_harness/ui_world.ts";
import { withDeployUiWorld } from "./_harness/ui_deploy_world.ts";
import { SCREEN_MODES } from "./_harness/ui_page.ts";

const ADMIN_PAT = "pat-admin-0123456789abcdefWXYZ";
const PUSH_PAT = "pat-push-0123456789abcdefPUSH";

async function connect(
  page: Page,
  forge: FakeForgejo,
  owner: string,
  repo: string,
  token: string,
  sourceUrl: string,
) {
  await page.getByLabel("Forge URL").fill(forge.url);
  await page.getByLabel("Owner").fill(owner);
  await page.getByLabel("Repository", { exact: true }).fill(repo);
  await page.getByLabel(/^Package/).fill(repo);
  await page.getByLabel(/^Access token/).fill(token);
  await page.getByLabel("Deploy on").selectOption("release");
  // The fixture inputs are git+file:// clones, not the forge's own git URL: say where flake fetches.
  await page.getByLabel(/^Flake fetches it from/).fill(sourceUrl);
  await page.getByRole("button", { name: "Connect", exact: true }).click();
}

Deno.test(
  "Repositories in Chromium: connect (webhook made or manual), forge deployment with its commit statuses, rotate, disconnect",
  async (t) => {
    const forge = await startFakeForgejo();
    try {
      forge.addRepo("acme", "api", { [PUSH_PAT]: { admin: false, push: true, pull: true } });
      await withDeployUiWorld(async (w) => {
        const owner = "acme";
        const full = `${owner}/webapp`;
        forge.addRepo(owner, "webapp", { [ADMIN_PAT]: { admin: true, push: true, pull: true } });
        const { context, page } = await newPage(w, w.signedIn);
        await context.grantPermissions(["clipboard-read", "clipboard-write"]);
        let webappId = "";

        await t.step("connecting with an admin PAT creates the webhook", async () => {
          await page.goto("/repositories");
          await page.getByText("No repository connected yet.").waitFor();
          // Where the connection is made: the forge's allowed-hosts setting, named.
          assert.match(
            (await page.locator("#allowed-hosts").textContent())!,
            /ALLOWED_HOST_LIST.*\[webhook\].*app\.ini/,
          );
          await connect(page, forge, owner, "webapp", ADMIN_PAT, w.deploy.webapp.url);
          const dialog = page.getByRole("dialog", { name: `Connected ${full}` });
          await dialog.getByText(/webhook was created on the forge/).waitFor();
          const [hook] = forge.hooks(owner, "webapp");
          assert.match(hook.url, new RegExp(`^${w.server.baseUrl}/webhook/forgejo/[0-9a-f-]{36}$`));
          assert.deepEqual(hook.events, ["release"]);
          webappId = hook.url.split("/").at(-1)!;
          await dialog.getByRole("button", { name: "Done" }).click();
          await page.locator(".card.repo", { hasText: full }).getByText(`#${hook.id}`)
            .waitFor();
          assert.ok(!(await page.content()).includes(ADMIN_PAT), "the PAT is not on the page");
        });

        await t.step(
          "connecting without admin rights shows the manual instructions once",
          async () => {
            await connect(page, forge, "acme", "api", PUSH_PAT, w.deploy.api.url);
            const dialog = page.getByRole("dialog", { name: "Connected acme/api" });
            await dialog.getByRole("alert").getByText(/add the webhook by hand/).waitFor();
            assert.deepEqual(forge.hooks("acme", "api"), []);
            const items = await dialog.locator("ol.steps li").allTextContents();
            assert.match(items[1], new RegExp(`${w.server.baseUrl}/webhook/forgejo/[0-9a-f-]{36}`));
            assert.match(items[2], /json/);
            const secret = (await dialog.locator(".token-value").textContent())!.trim();
            assert.match(secret, /^[0-9a-f]{64}$/);
            assert.match(items[4], /release/);
            assert.equal(
              await dialog.getByRole("link", { name: "forge's token page" }).getAttribute("href"),
              `${forge.url}/user/settings/applications`,
            );
            await dialog.getByRole("button", { name: "Copy secret" }).click();
            assert.equal(await page.evaluate("navigator.clipboard.readText()"), secret);
            await screenshot(page, "repositories-manual-light");
            await dialog.getByRole("button", { name: "Done" }).click();
            await dialog.waitFor({ state: "detached" });
            assert.ok(!(await page.content()).includes(secret), "the secret is gone from the page");
            await page.locator(".card.repo", { hasText: "acme/api" })
              .getByText(`webhook secret …${secret.slice(-4)}`).waitFor();
          },
        );

        await t.step(
          "a release on the forge deploys; the deployment page shows its commit statuses",
          async () => {
            const sha = await w.deploy.webapp.release("1.5.0");
            forge.addTag(owner, "webapp", "v1.5.0", sha);
            const [res] = await forge.fire(
              owner,
              "webapp",
              "release",
              releasePayload(forge.url, owner, "webapp", { tag: "v1.5.0" }),
            );
            const body = await res.json();
            assert.equal(res.status, 202, JSON.stringify(body));
            const list = await (await w.deploy.fetch("/api/deployments?package=webapp")).json();
            const d = list.deployments[0];
            assert.equal(d.version, "v1.5.0"); // the forge deploys the tag as the version
            await w.deploy.waitDeployment(d.id, (x) => x.status === "deployed");
            await page.goto(`/deployments/${d.id}`);
            await page.getByText(`${full} (forge webhook)`).waitFor();
            const posts = page.locator("ul.posts li");
            await posts.filter({ hasText: "success" }).waitFor();
            assert.deepEqual(
              await posts.locator(".badge").allTextContents(),
              forge.statuses(owner, "webapp").map((s) => s.state),
            );
            assert.equal(forge.statuses(owner, "webapp").at(-1)!.state, "success");
            assert.ok(forge.statuses(owner, "webapp").every((s) => s.sha === sha));
            await posts.first().locator(`code[title="${sha}"]`).waitFor();
            await screenshot(page, "deployment-forge-light");

            await page.goto("/repositories");
            const card = page.locator(".card.repo", { hasText: full });
            await card.getByText(/release delivery/).waitFor();
            await card.locator(".badge", { hasText: "success" }).waitFor();
          },
        );

        await t.step(
          "rotating the secret shows the new one once and updates the webhook",
          async () => {
            const card = page.locator(".card.repo", { hasText: full });
            await card.getByRole("button", { name: "Rotate secret" }).click();
            await page.getByRole("dialog", { name: "Rotate the webhook secret?" })
              .getByRole("button", { name: "Rotate secret" }).click();
            const dialog = page.getByRole("dialog", { name: "New webhook secret" });
            const secret = (await dialog.locator(".token-value").textContent())!.trim();
            assert.match(secret, /^[0-9a-f]{64}$/);
            await dialog.getByText(/A new webhook with this secret replaced the old one/).waitFor();
            assert.equal(forge.hooks(owner, "webapp").length, 1);
            assert.equal(forge.hooks(owner, "webapp")[0].secret, secret);
            await screenshot(page, "repositories-rotated-light");
            await dialog.getByRole("button", { name: "Close" }).click();
            await dialog.waitFor({ state: "detached" });
            assert.ok(!(await page.content()).includes(secret));
            await card.getByText(`webhook secret …${secret.slice(-4)}`).waitFor();
            await card.getByText("old secret accepted until").waitFor();
          },
        );

        await t.step("a repository that moved says so on its card", async () => {
          forge.moveRepo(owner, "webapp", "newco", "webapp2");
          const [res] = await forge.fire(
            "newco",
            "webapp2",
            "release",
            releasePayload(forge.url, "newco", "webapp2", { tag: "v1.6.0" }),
          );
          assert.equal(res.status, 422);
          assert.equal((await res.json()).error.code, "forge_repo_moved");
          await page.goto("/repositories");
          const problem = page.locator(".card.repo", { hasText: full }).locator(".repo-problem");
          await problem.getByText("The repository moved:").waitFor();
          assert.match((await problem.textContent())!, /moved to newco\/webapp2/);
          await screenshot(page, "repositories-moved-light");
          forge.moveRepo("newco", "webapp2", owner, "webapp");
        });

        await t.step("screens in light, dark and at phone width", async () => {
          for (const mode of SCREEN_MODES) {
            const shot = await newPage(w, { ...w.signedIn, ...mode });
            await shot.page.goto("/repositories");
            await shot.page.locator(".card.repo").nth(1).waitFor();
            await screenshot(shot.page, `repositories-data-${mode.name}`);
            await shot.context.close();
          }
        });

        await t.step(
          "disconnecting asks first, removes the webhook it made, and the card",
          async () => {
            const card = page.locator(".card.repo", { hasText: full });
            await card.getByRole("button", { name: "Disconnect" }).click();
            await page.getByRole("dialog", { name: "Disconnect this repository?" })
              .getByRole("button", { name: "Disconnect" }).click();
            await page.getByText("Disconnected; the webhook was removed from the forge.").waitFor();
            await card.waitFor({ state: "detached" });
            assert.deepEqual(forge.hooks(owner, "webapp"), []);
            const gone = await w.deploy.fetch(`/api/repositories/${webappId}`);
            assert.equal(gone.status, 404);
            await gone.body?.cancel();
            await page.locator(".card.repo", { hasText: "acme/api" }).waitFor();
          },
        );
        assert.deepEqual(forge.rejections, [], "despacito kept to the forge protocol");
        await context.close();
      });
    } finally {
      await forge.close();
    }
  },
);
