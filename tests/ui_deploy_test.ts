/**
 * The deployment screens in real Chromium against a real despacito (child
 * process, production permission flags, real PostgreSQL, real git and nix
 * fixture flakes, fake colmena), deployments triggered through POST /webhook
 * with a bearer token, the browser signed in through the sign-in screen.
 * The page talks to despacito through a TCP proxy the test cuts. Colmena
 * prints each line only when the test allows it, so "live" means: the line
 * is on the page before the next one exists.
 */

import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { STORE_PATH } from "./_harness/deploy_env.ts";
import { successLines } from "./_harness/fake_colmena.ts";
import { screenshot } from "./_harness/chromium.ts";
import { readSse } from "./_harness/sse.ts";
import { newPage } from "./_harness/ui_world.ts";
import { type DeployUiWorld, withDeployUiWorld } from "./_harness/ui_deploy_world.ts";
import { colmenaPart, logLines, pageLines, SCREEN_MODES, until } from "./_harness/ui_page.ts";

async function queueWebhook(w: DeployUiWorld, body: Record<string, unknown>): Promise<string> {
  const r = await w.deploy.webhook({ nix_store_path: STORE_PATH, ...body }, "?wait=false");
  const json = await r.json();
  assert.equal(r.status, 202, JSON.stringify(json));
  return json.deployment_id;
}

/** Waits until the page shows exactly colmena's first `n` lines (of `expected`). */
async function showsColmenaLines(page: Page, expected: string[], n: number) {
  let got: string[] = [];
  await until(page, async () => {
    got = colmenaPart(await pageLines(page), expected[0]).map((l) => l.text);
    return JSON.stringify(got) === JSON.stringify(expected.slice(0, n));
  }, `the page to show colmena's first ${n} lines`).catch((e) => {
    throw new Error(`${e.message}; it shows ${JSON.stringify(got)}`);
  });
}

Deno.test(
  "deployment page in Chromium: live log, dropped SSE, follow-tail, cancel, overview, history",
  async (t) => {
    await withDeployUiWorld(async (w) => {
      const { deploy, proxy } = w;

      await t.step("a webhook deployment's log lines appear live, then its outcome", async () => {
        await deploy.colmena.set({ mode: "step" });
        const id = await queueWebhook(w, {
          package: "webapp",
          version: "1.1.0",
          flake_ref: `${deploy.webapp.url}?ref=refs/tags/v1.1.0`,
        });
        const { context, page } = await newPage(w, { ...w.signedIn, baseUrl: proxy.url });
        await page.goto(`/deployments/${id}`);
        await page.getByRole("heading", { name: "webapp 1.1.0" }).waitFor();
        await deploy.colmena.waitFor((runs) => runs.length === 1, "colmena to start");
        const expected = successLines();
        for (let n = 1; n <= expected.length; n++) {
          // Line n exists only now; the page must show it before line n+1 is printed.
          await deploy.colmena.allowLines(n);
          await showsColmenaLines(page, expected, n);
          if (n === 7) await screenshot(page, "deployment-live-light");
          if (expected[n - 1] === "alpha | Activation successful") {
            // Per-node progress while colmena still runs: alpha done, beta on its way.
            await until(
              page,
              async () =>
                JSON.stringify(await page.locator(".nodes li").allTextContents()) ===
                  JSON.stringify(["succeeded alphaActivation successful", "running beta"]),
              "live nodes",
            );
          }
        }
        await page.locator(".title-row .badge", { hasText: "deployed" }).waitFor();
        await page.getByRole("status").filter({ hasText: "complete" }).waitFor();
        const d = await deploy.waitDeployment(id, (d) => d.status === "deployed");

        const steps = await page.locator("#steps-title + .table-wrap tbody tr").allInnerTexts();
        assert.deepEqual(
          steps.map((s) => s.split(/\s+/).slice(0, 2).join(" ")),
          // No checks configured: verify has nothing to do.
          ["queued ok", "preflight ok", "flake ok", "commit ok", "activate ok", "verify skipped"],
        );
        assert.deepEqual(
          await page.locator(".nodes li").allTextContents(),
          ["succeeded alphaActivation successful", "succeeded betaActivation successful"],
        );
        assert.equal(d.commit_sha, await deploy.flake.head());
        await page.locator(`code[title="${d.commit_sha}"]`, { hasText: d.commit_sha.slice(0, 12) })
          .waitFor();
        await page.locator(`code[title="${d.locked_rev}"]`).waitFor();
        assert.equal(d.locked_rev, deploy.webapp.tags["v1.1.0"]);
        await page.getByText("ci-runner-1 (token)").waitFor();
        assert.deepEqual((await pageLines(page)).map((l) => l.text), await logLines(w, id));
        await screenshot(page, "deployment-deployed-light");
        await context.close();
      });

      await t.step(
        "a cut SSE connection resumes with no missing or repeated line; follow-tail stops on scroll up",
        async () => {
          const nodes = ["node1", "node2", "node3", "node4", "node5", "node6", "node7", "node8"];
          const expected = successLines(nodes);
          await deploy.colmena.set({ mode: "step", nodes });
          const id = await queueWebhook(w, { package: "webapp", version: "1.2.0" });
          const { context, page } = await newPage(w, { ...w.signedIn, baseUrl: proxy.url });
          await page.setViewportSize({ width: 1280, height: 640 });
          const streams: string[] = [];
          page.on("request", (r) => r.url().includes("/events") && streams.push(r.url()));
          await page.goto(`/deployments/${id}`);
          await deploy.colmena.waitFor((runs) => runs.length === 2, "colmena to start");
          await deploy.colmena.allowLines(5);
          await showsColmenaLines(page, expected, 5);
          const seenBefore = Math.max(...(await pageLines(page)).map((l) => l.seq));

          // The network drops; new connections hang while colmena goes on printing.
          proxy.hold();
          assert.ok(proxy.cut() > 0, "the event stream was open through the proxy");
          await page.getByRole("status").filter({ hasText: /connection lost|reconnecting/ })
            .waitFor();
          // Line 19, "building on stdout", is the only stdout line: its order against the stderr
          // lines around it is the two pipes' race, so it is let out alone.
          for (const n of [18, 19]) {
            await deploy.colmena.allowLines(n);
            await deploy.waitFor(async () =>
              colmenaPart(
                (await logLines(w, id)).map((text) => ({ text, seq: 0, stream: "" })),
                expected[0],
              ).length === n
            );
          }
          await showsColmenaLines(page, expected, 5);
          proxy.resume();
          await showsColmenaLines(page, expected, 19);
          await page.getByRole("status").filter({ hasText: "live" }).waitFor();
          assert.equal(streams[0].includes("last_event_id"), false, streams[0]);
          const resumedAt = Number(new URL(streams.at(-1)!).searchParams.get("last_event_id"));
          assert.ok(resumedAt >= seenBefore, `resumed after ${resumedAt}, had ${seenBefore}`);

          // Follow-tail: at the bottom while following; scrolling up stops it.
          const log = page.locator(".log");
          assert.equal(await log.getAttribute("data-following"), "true");
          assert.ok(await atBottom(page), "the log follows the newest line");
          await log.hover();
          await page.mouse.wheel(0, -5000);
          await page.locator('.log[data-following="false"]').waitFor();
          const scrolled = await scrollTop(page);
          await deploy.colmena.allowLines(30);
          await showsColmenaLines(page, expected, 30);
          assert.equal(await scrollTop(page), scrolled, "new lines do not move a scrolled-up log");
          await screenshot(page, "deployment-scrolled-up-light");

          // Cut again while the rest pours out.
          await deploy.colmena.allowLines(expected.length);
          proxy.cut();
          await page.locator(".title-row .badge", { hasText: "deployed" }).waitFor();
          await page.getByRole("status").filter({ hasText: "complete" }).waitFor();
          await page.getByRole("button", { name: /Follow new lines/ }).click();
          await page.locator('.log[data-following="true"]').waitFor();
          assert.ok(await atBottom(page), "following again jumps to the newest line");

          const shown = await pageLines(page);
          assert.deepEqual(shown.map((l) => l.text), await logLines(w, id), "no gap, no repeat");
          assert.deepEqual(shown.map((l) => l.seq), await logSeqs(w, id));
          assert.deepEqual(colmenaPart(shown, expected[0]).map((l) => l.text), expected);
          assert.ok(streams.length >= 3, `reconnected after each cut: ${streams.join(" ")}`);
          await context.close();
        },
      );

      await t.step(
        "Overview shows the packages and the queue; Cancel stops a running deployment and reverts",
        async () => {
          await deploy.colmena.set({ mode: "hang", nodes: ["alpha", "beta"] });
          await deploy.webapp.release("1.3.0");
          await deploy.api.release("2.1.0");
          const lockedBefore = await deploy.flake.lockedRev("webapp");
          const headBefore = await deploy.flake.head();
          const running = await queueWebhook(w, {
            package: "webapp",
            version: "1.3.0",
            flake_ref: `${deploy.webapp.url}?ref=refs/tags/v1.3.0`,
          });
          await deploy.colmena.waitFor((runs) => runs.length === 3, "colmena to hang");
          const apiQueued = await queueWebhook(w, { package: "api", version: "2.1.0" });
          // 26 release candidates, each superseding the one before (History pages through them).
          for (let i = 1; i <= 26; i++) {
            await queueWebhook(w, { package: "webapp", version: `1.4.0-rc.${i}` });
          }
          const webappQueued = await queueWebhook(w, { package: "webapp", version: "1.4.0" });

          for (const mode of SCREEN_MODES) {
            const { context, page } = await newPage(w, { ...w.signedIn, ...mode });
            await page.goto("/");
            const queue = page.locator("ul.queue > li");
            await until(page, async () => (await queue.count()) === 4, "the queue");
            assert.deepEqual(
              (await queue.allInnerTexts()).map((s) => s.split(/\s+/).slice(0, 3).join(" ")),
              [
                "running webapp 1.3.0",
                "queued api 2.1.0",
                "superseded webapp 1.4.0-rc.26",
                "queued webapp 1.4.0",
              ],
            );
            // The version that runs, and the rev the flake pins right now (the running one's).
            const row = page.locator("tr", { hasText: "webapp" }).filter({ hasText: "1.2.0" });
            await row.locator(`code[title="${await deploy.flake.lockedRev("webapp")}"]`).waitFor();
            await row.locator(`code[title="${STORE_PATH}"]`, { hasText: "01234567…-webapp-1.1.0" })
              .waitFor();
            // Running now (1.2.0, linked) apart from the latest request (1.4.0, waiting).
            await row.locator('td[data-label="Running now"]', { hasText: /^1\.2\.0\s*since/ })
              .waitFor();
            const latest = row.locator('td[data-label="Latest request"]');
            await latest.getByRole("link", { name: "1.4.0", exact: true }).waitFor();
            await latest.locator(".badge", { hasText: "queued" }).waitFor();
            await page.locator("tr", { hasText: "api" }).getByText("never deployed").waitFor();
            await screenshot(page, `overview-queue-${mode.name}`);
            await context.close();
          }

          await deploy.colmena.set({ mode: "ok" });
          const { context, page } = await newPage(w, { ...w.signedIn, baseUrl: proxy.url });
          await page.goto(`/deployments/${running}`);
          await page.getByRole("status").filter({ hasText: "live" }).waitFor();
          await page.getByRole("button", { name: "Cancel deployment" }).click();
          const dialog = page.getByRole("dialog", { name: "Cancel this deployment?" });
          await dialog.getByRole("button", { name: "Cancel deployment" }).click();
          // Gone before the page is read: its text ("reverted by a new commit") would match too.
          await dialog.waitFor({ state: "detached" });
          await page.locator(".title-row .badge", { hasText: "cancelled" }).waitFor();
          await page.getByRole("status").filter({ hasText: "complete" }).waitFor();
          const d = await deploy.waitDeployment(running, (d) => d.status === "cancelled");
          assert.equal(d.cancel_requested, true);
          assert.ok(d.revert_sha, "the deploy commit was reverted");
          await page.locator(`code[title="${d.revert_sha}"]`).waitFor();
          await page.getByText("Reverted by").waitFor();
          await page.locator("main > p.error strong", { hasText: "Cancelled." }).waitFor();
          // The stopped step was cancelled, not a red failure; the revert is a step of its own.
          const steps = await page.locator("#steps-title + .table-wrap tbody tr").allInnerTexts();
          assert.deepEqual(
            steps.map((s) => s.split(/\s+/).slice(0, 2).join(" ")),
            [
              "queued ok",
              "preflight ok",
              "flake ok",
              "commit ok",
              "activate cancelled",
              "restore ok",
            ],
          );
          assert.equal(await page.locator("#steps-title + .table-wrap .badge-failed").count(), 0);
          await page.getByRole("button", { name: "Retry" }).waitFor();
          // The revert commit puts webapp's pin back. The work tree is not looked at yet:
          // the queue moves on at once, and the next deployment's nix may be writing flake.lock.
          const shown = await new Deno.Command("git", {
            args: ["-C", deploy.flake.dir, "show", `${d.revert_sha}:flake.lock`],
            stdout: "piped",
          }).output();
          const reverted = JSON.parse(new TextDecoder().decode(shown.stdout));
          assert.equal(reverted.nodes.webapp.locked.rev, lockedBefore);
          assert.notEqual(await deploy.flake.head(), headBefore);
          await screenshot(page, "deployment-cancelled-light");
          await context.close();

          // The queue moves on after the cancel, and leaves the flake repo clean.
          await deploy.waitDeployment(apiQueued, (d) => d.status === "deployed");
          await deploy.waitDeployment(webappQueued, (d) => d.status === "deployed");
          assert.equal(await deploy.flake.status(), "", "the flake repo is clean");
        },
      );

      await t.step("History filters by package and status and pages through them", async () => {
        const { context, page } = await newPage(w, w.signedIn);
        await page.goto("/deployments");
        const rows = page.locator("tbody tr");
        await until(page, async () => (await rows.count()) === 25, "a full first page");
        await page.getByLabel("Package").selectOption("webapp");
        await page.waitForURL("**/deployments?package=webapp");
        // One checkbox per status (History takes any set of them).
        const status = (s: string) =>
          page.locator("fieldset.choices").getByLabel(s, { exact: true });
        await status("superseded").check();
        await page.waitForURL("**/deployments?package=webapp&status=superseded");
        const names = async () => (await rows.locator("th").allInnerTexts()).map((s) => s.trim());
        await until(page, async () => (await names())[0] === "webapp 1.4.0-rc.26", "filtered rows");
        const first = await names();
        assert.equal(first.length, 25);
        assert.deepEqual(first, Array.from({ length: 25 }, (_, i) => `webapp 1.4.0-rc.${26 - i}`));
        await screenshot(page, "history-filtered-light");
        await page.getByRole("button", { name: "Older" }).click();
        await until(page, async () => (await names()).join() === "webapp 1.4.0-rc.1", "page 2");
        assert.equal(await page.getByRole("button", { name: "Older" }).count(), 0);
        await page.getByRole("button", { name: "Newest" }).click();
        await until(page, async () => (await names()).length === 25, "back to page 1");
        await status("superseded").uncheck();
        await status("cancelled").check();
        await until(page, async () => (await names()).join() === "webapp 1.3.0", "cancelled");
        // The row says why it ended, from the deployment's error.
        await rows.locator(".reason", { hasText: "cancelled by request" }).waitFor();
        await page.getByLabel("Package").selectOption("");
        await status("cancelled").uncheck();
        await status("deployed").check();
        await until(
          page,
          async () => (await names()).join() === "webapp 1.4.0,api 2.1.0,webapp 1.2.0,webapp 1.1.0",
          "deployed ones of every package",
        );
        await context.close();
      });

      await t.step("screens with real data in light, dark and at phone width", async () => {
        const [cancelled] = (await (await deploy.fetch("/api/deployments?status=cancelled"))
          .json()).deployments;
        for (const mode of SCREEN_MODES) {
          const { context, page } = await newPage(w, { ...w.signedIn, ...mode });
          for (
            const [name, path] of [
              ["overview-data", "/"],
              ["history-data", "/deployments?package=webapp"],
              ["deployment-data", `/deployments/${cancelled.id}`],
            ]
          ) {
            await page.goto(path);
            await page.locator("main h1").first().waitFor();
            await page.locator("main table, main .log .line").first().waitFor();
            await screenshot(page, `${name}-${mode.name}`);
          }
          await context.close();
        }
      });
    });
  },
);

async function atBottom(page: Page): Promise<boolean> {
  return await page.evaluate<boolean>(`(() => {
    const el = document.querySelector(".log");
    return el.scrollHeight - el.scrollTop - el.clientHeight < 2;
  })()`);
}

async function scrollTop(page: Page): Promise<number> {
  return await page.evaluate<number>(`document.querySelector(".log").scrollTop`);
}

/** The seqs of the deployment's log events, read from the SSE stream directly. */
async function logSeqs(w: DeployUiWorld, id: string): Promise<number[]> {
  const seqs: number[] = [];
  for await (const f of readSse(await w.deploy.fetch(`/api/deployments/${id}/events`))) {
    if (f.event === "log") seqs.push(Number(f.id));
    if (f.event === "end") break;
  }
  return seqs;
}

Deno.test(
  "Overview in Chromium says when the flake remote is behind, and when it caught up",
  async () => {
    await withDeployUiWorld(async (w) => {
      const { deploy } = w;
      await deploy.remote!.breakRemote();
      const r = await deploy.webhook({
        package: "webapp",
        version: "1.1.0",
        nix_store_path: STORE_PATH,
        flake_ref: `${deploy.webapp.url}?ref=refs/tags/v1.1.0`,
      });
      assert.equal((await r.json()).status, "deployed");
      const { context, page } = await newPage(w, w.signedIn);
      try {
        await page.goto("/");
        const facts = page.getByTestId("server-facts");
        await facts.getByText("Flake remote main is behind: 1 commit(s) not pushed yet").waitFor();
        await deploy.remote!.restore();
        const second = await deploy.webhook({
          package: "webapp",
          version: "1.2.0",
          nix_store_path: STORE_PATH,
          flake_ref: `${deploy.webapp.url}?ref=refs/tags/v1.2.0`,
        });
        assert.equal((await second.json()).status, "deployed");
        await page.reload();
        await facts.getByText("Flake remote main: up to date.").waitFor();
      } finally {
        await context.close();
      }
    }, { remote: true });
  },
);
