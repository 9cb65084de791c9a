/**
 * Every screen of the web UI in real Chromium against a real despacito
 * (child process under its production permission flags, real PostgreSQL,
 * git and nix fixture flakes, the simulated colmena fleet), in light, dark,
 * at phone width and at phone width in the dark: axe-core finds 0 violations, the CSP probe sees no
 * violation and no inline script or style, Copy and Sign out buttons have
 * unique names, nothing overflows sideways, and a screenshot of each lands
 * in test-output/screenshots/. Then the details of issue 17 item 10: focus on
 * the heading after a route change, focus back on the trigger after a
 * dialog closes with Escape, the compact phone header.
 *
 * axe and the CSP probe share one page with the CSP enforced: axe goes in
 * through the DevTools protocol (tests/_harness/ui_checks.ts says why that
 * needs no bypassCSP).
 */

import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { screenshot } from "./_harness/chromium.ts";
import { authorizeParams, httpLogin, newFlow } from "./cli_support.ts";
import { STORE_PATH } from "./_harness/deploy_env.ts";
import { type FakeForgejo, startFakeForgejo } from "./_harness/fake_forgejo.ts";
import {
  axeViolations,
  buttonNames,
  cspViolations,
  inlineCode,
  overflowing,
  watchCsp,
} from "./_harness/ui_checks.ts";
import { type DeployUiWorld, USER, withDeployUiWorld } from "./_harness/ui_deploy_world.ts";
import { SCREEN_MODES, until } from "./_harness/ui_page.ts";
import { newPage } from "./_harness/ui_world.ts";

/** The deployments the screens show, made before the screens are visited. */
interface Made {
  deployed: string;
  failed: string;
  running: string;
  /** The query of a `despacito login` consent request. */
  consent: string;
}

interface ScreenCase {
  name: string;
  path: string;
  /** The page's `<h1>` once it has loaded. */
  heading: string | RegExp;
  /** Visit it signed out (the sign-in screen). */
  signedOut?: boolean;
  /** A page the server renders itself, without the app's header. */
  serverPage?: boolean;
  /** Brings the page to the state to audit, e.g. opens a dialog; waits until it is there. */
  open?: (page: Page) => Promise<void>;
}

/** `screen` with a dialog open: the one its (first) button `button` opens, named `title`. */
function withDialog(
  screen: ScreenCase,
  dialog: string,
  button: string | RegExp,
  title: string | RegExp,
): ScreenCase {
  return {
    ...screen,
    name: `${screen.name}-${dialog}-dialog`,
    open: async (page) => {
      const name = typeof button === "string" ? new RegExp(`^${button}$`) : button;
      await page.getByRole("button", { name }).first().click();
      await page.getByRole("dialog", { name: title }).waitFor();
    },
  };
}

let tokensMade = 0;

/** Every screen and every dialog: add a screen here and it is audited in every mode. */
function screens(d: Made): ScreenCase[] {
  const overview = { name: "overview", path: "/", heading: "Queue" };
  const deployment = (name: string, id: string, pkg: string) => ({
    name: `deployment-${name}`,
    path: `/deployments/${id}`,
    heading: new RegExp(`^${pkg}`),
  });
  const running = deployment("running", d.running, "api");
  const failed = deployment("failed", d.failed, "webapp");
  const deployed = deployment("deployed", d.deployed, "webapp");
  const tokens = { name: "tokens", path: "/tokens", heading: "Tokens" };
  const repositories = { name: "repositories", path: "/repositories", heading: "Repositories" };
  return [
    { name: "signin", path: "/signin", heading: "Sign in to despacito", signedOut: true },
    overview,
    withDialog(overview, "release", "Release", "Release webapp?"),
    { name: "fleet", path: "/fleet", heading: "Fleet" },
    { name: "node", path: "/fleet/alpha", heading: "alpha" },
    { name: "node-missing", path: "/fleet/no-such-node", heading: "No such node" },
    { name: "history", path: "/deployments", heading: "History" },
    running,
    withDialog(running, "cancel", "Cancel deployment", "Cancel this deployment?"),
    failed,
    withDialog(failed, "retry", "Retry", /^Retry webapp/),
    deployed,
    withDialog(deployed, "rollback", "Roll back to this version", /^Roll webapp back/),
    {
      name: "deployment-missing",
      path: "/deployments/00000000-0000-4000-8000-000000000000",
      heading: "No such deployment",
    },
    tokens,
    {
      ...tokens,
      name: "tokens-created-dialog",
      open: async (p) => {
        // Named apart: each Revoke button is named after its token's description.
        await p.getByLabel("Description").fill(`a11y ${++tokensMade}`);
        await p.getByRole("button", { name: "Create token" }).click();
        await p.getByRole("dialog", { name: "Your new token" }).waitFor();
      },
    },
    withDialog(tokens, "revoke", /^Revoke token a11y/, "Revoke this token?"),
    repositories,
    withDialog(repositories, "rotate", /^Rotate secret of /, "Rotate the webhook secret?"),
    { name: "audit", path: "/audit", heading: "Audit" },
    { name: "not-found", path: "/no/such/page", heading: "Not found" },
    {
      name: "cli-consent",
      path: `/oauth/authorize?${d.consent}`,
      heading: "Sign in despacito command line?",
      serverPage: true,
    },
    {
      name: "cli-refused",
      path: "/oauth/authorize?client_id=nobody",
      heading: "This sign-in request was refused",
      serverPage: true,
    },
  ];
}

async function queue(w: DeployUiWorld, body: Record<string, unknown>): Promise<string> {
  const r = await w.deploy.webhook({ nix_store_path: STORE_PATH, ...body }, "?wait=false");
  const json = await r.json();
  assert.equal(r.status, 202, JSON.stringify(json));
  return json.deployment_id;
}

/**
 * A deployed, a failed (activation on beta, its rollback on alpha: the package is held; with
 * notifications) and a running deployment.
 */
async function makeDeployments(w: DeployUiWorld): Promise<Made> {
  const { deploy } = w;
  const webapp = (v: string) => ({
    package: "webapp",
    version: v,
    // A long URL (ref and rev) to wrap inside its card.
    flake_ref: `${deploy.webapp.url}?ref=refs/tags/v${v}&rev=${deploy.webapp.tags[`v${v}`]}`,
  });
  const deployed = await queue(w, webapp("1.1.0"));
  await deploy.waitDeployment(deployed, (d) => d.status === "deployed");
  const current = await queue(w, webapp("1.2.0"));
  await deploy.waitDeployment(current, (d) => d.status === "deployed");
  await deploy.webapp.release("1.3.0");
  // Activation fails on beta, then the rollback fails on alpha: webapp is held.
  await deploy.colmena.set({ failNode: "beta", plan: [{}, { failNodes: ["alpha"] }] });
  const failed = await queue(w, webapp("1.3.0"));
  await deploy.waitDeployment(failed, (d) => d.rollback?.status === "failed");
  await deploy.colmena.set({ failNode: "", plan: [], mode: "hang" });
  const running = await queue(w, { package: "api", version: "2.0.0" });
  await deploy.waitDeployment(running, (d) => d.status === "running");
  await deploy.colmena.waitFor((runs) => runs.some((r) => r.endedAt === null), "colmena hangs");
  // A command-line sign-in for the Tokens page, and a consent request to show.
  await httpLogin({ url: w.server.baseUrl }, USER);
  const consent = authorizeParams(await newFlow({ url: w.server.baseUrl }, USER)).toString();
  return { deployed, failed, running, consent };
}

/** The screen modes of the other UI tests, and the phone in the dark: a combination of its own. */
const AUDIT_MODES = [
  ...SCREEN_MODES,
  { name: "phone-dark", colorScheme: "dark" as const, phone: true },
];

const ADMIN_PAT = "pat-admin-0123456789abcdefWXYZ";
const PUSH_PAT = "pat-push-0123456789abcdefPUSH";

/**
 * Two repository cards: one with its webhook, one set up by hand; both with
 * the long git+file:// URL flake fetches from (it must wrap inside its card).
 */
async function connectRepositories(w: DeployUiWorld, forge: FakeForgejo) {
  forge.addRepo("acme", "webapp", { [ADMIN_PAT]: { admin: true, push: true, pull: true } });
  forge.addRepo("acme", "api", { [PUSH_PAT]: { admin: false, push: true, pull: true } });
  for (const [repo, token] of [["webapp", ADMIN_PAT], ["api", PUSH_PAT]]) {
    const r = await w.deploy.fetch("/api/repositories", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        forge_url: forge.url,
        owner: "acme",
        repo,
        package: repo,
        token,
        trigger: "release",
        source_url: repo === "webapp" ? w.deploy.webapp.url : w.deploy.api.url,
      }),
    });
    assert.equal(r.status, 201, await r.text());
  }
}

/** Goes to the screen and waits until it has loaded (heading there, nothing busy). */
async function visit(page: Page, s: ScreenCase) {
  const response = await page.goto(s.path);
  await page.getByRole("heading", { level: 1, name: s.heading }).waitFor();
  if (!s.signedOut && !s.serverPage) {
    await page.locator("header .user", { hasText: USER }).waitFor();
  }
  await until(page, async () => (await page.locator("[aria-busy=true]").count()) === 0, "loaded");
  await s.open?.(page);
  return response;
}

Deno.test("every screen in light, dark, phone and phone-dark: axe 0 violations, CSP clean, screenshots; focus, Copy names, header", async (t) => {
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    req.body?.cancel();
    return new Response(null, { status: 204 });
  });
  const settings = `notifications:
  - { name: phone, type: ntfy, url: "http://127.0.0.1:${receiver.addr.port}/deploys", events: [deployed, failed] }
`;
  const forge = await startFakeForgejo();
  try {
    await withDeployUiWorld(async (w) => {
      await connectRepositories(w, forge);
      const made = await makeDeployments(w);
      const all = screens(made);

      for (const mode of AUDIT_MODES) {
        await t.step(`${mode.name}: every screen passes axe and the CSP probe`, async () => {
          const csp: string[] = [];
          const problems: string[] = [];
          const out = await newPage(w, { ...w.signedIn, ...mode });
          const anon = await newPage(w, { ...mode });
          for (const page of [out.page, anon.page]) await watchCsp(page, csp);
          for (const s of all) {
            const page = s.signedOut ? anon.page : out.page;
            const response = await visit(page, s);
            const where = `${s.name} (${mode.name})`;
            for (const v of await axeViolations(page)) {
              problems.push(
                `${where}: axe ${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.join("\n    ")}`,
              );
            }
            for (const v of await cspViolations(page)) problems.push(`${where}: CSP ${v}`);
            for (const v of await inlineCode(page, response)) problems.push(`${where}: ${v}`);
            // Buttons that do different things must not sound alike: every Copy (what it
            // copies), every Sign out (this browser, or a command line), and the buttons
            // repeated on each row or card (Revoke a token, Rotate or Disconnect a repository).
            const names = await buttonNames(page);
            const alike = names.filter((n, i) =>
              /^(Copy|Sign out|Revoke|Rotate|Disconnect)/.test(n) && names.indexOf(n) !== i
            );
            if (alike.length) problems.push(`${where}: buttons named alike: ${alike}`);
            // (A dialog's own Rotate secret and Disconnect are its row's: they may be bare.)
            for (const bare of ["Copy", "Revoke"]) {
              if (names.includes(bare)) problems.push(`${where}: a button says only "${bare}"`);
            }
            for (const o of await overflowing(page, !mode.phone)) {
              problems.push(`${where}: overflows: ${o}`);
            }
            await screenshot(page, `screen-${s.name}-${mode.name}`);
          }
          problems.push(...csp.map((c) => `console: ${c}`));
          assert.deepEqual(problems, [], problems.join("\n"));
          await out.context.close();
          await anon.context.close();
        });
      }

      await t.step("a route change moves focus to the new screen's heading", async () => {
        const { context, page } = await newPage(w, w.signedIn);
        await page.goto("/");
        await page.getByRole("heading", { level: 1, name: "Queue" }).waitFor();
        const focused = () =>
          page.evaluate<string>(
            "document.activeElement?.tagName + ' ' + document.activeElement?.textContent",
          );
        await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "History" })
          .click();
        await until(page, async () => (await focused()) === "H1 History", "focus on History's h1");
        // A screen whose heading comes with its data: focus waits for it.
        await page.locator(`a[href="/deployments/${made.deployed}"]`).first().click();
        await until(
          page,
          async () => /^H1 webapp/.test(await focused()),
          "focus on the deployment's h1",
        );
        await page.goBack();
        await until(
          page,
          async () => (await focused()) === "H1 History",
          "focus back on History's h1 after Back",
        );
        // The first load keeps the browser's own focus (the skip link is the first Tab stop).
        await page.goto("/fleet");
        await page.getByRole("heading", { level: 1, name: "Fleet" }).waitFor();
        assert.equal(await page.evaluate("document.activeElement?.tagName"), "BODY");
        await page.keyboard.press("Tab");
        assert.equal(await page.evaluate("document.activeElement?.textContent"), "Skip to content");
        // The skip link takes focus to main, and Tab goes on from there.
        await page.keyboard.press("Enter");
        assert.equal(await page.evaluate("document.activeElement?.id"), "main");
        await context.close();
      });

      await t.step(
        "a dialog closed with Escape gives focus back to the button that opened it",
        async () => {
          const { context, page } = await newPage(w, w.signedIn);
          for (
            const [path, button] of [
              [`/deployments/${made.deployed}`, "Roll back to this version"],
              [`/deployments/${made.failed}`, "Retry"],
              [`/deployments/${made.running}`, "Cancel deployment"],
              ["/tokens", "Revoke"],
            ]
          ) {
            await page.goto(path);
            // Revoke is named after its token; its visible text is the word alone.
            const name = new RegExp(`^${button}($| token )`);
            const trigger = page.getByRole("button", { name }).first();
            await trigger.click();
            await page.getByRole("dialog").waitFor();
            await page.keyboard.press("Escape");
            await page.getByRole("dialog").waitFor({ state: "detached" });
            await until(
              page,
              async () =>
                await page.evaluate("document.activeElement?.tagName") === "BUTTON" &&
                await page.evaluate("document.activeElement.textContent.trim()") === button,
              `focus back on ${button}`,
            );
          }
          await context.close();
        },
      );

      await t.step("the phone header is one or two rows, at most 64 px high", async () => {
        const { context, page } = await newPage(w, { ...w.signedIn, phone: true });
        await page.goto("/");
        await page.locator("header .user", { hasText: USER }).waitFor();
        const height = await page.evaluate<number>(
          "document.querySelector('header.top').getBoundingClientRect().height",
        );
        assert.ok(height <= 64, `phone header is ${height} px high`);
        // Every section is still reachable from it.
        for (const name of ["Overview", "History", "Fleet", "Tokens", "Repositories", "Audit"]) {
          await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name })
            .waitFor();
        }
        await context.close();
      });

      const cancel = await w.deploy.fetch(`/api/deployments/${made.running}/cancel`, {
        method: "POST",
      });
      assert.equal(cancel.status, 202, await cancel.text());
      await w.deploy.waitDeployment(made.running, (d) => d.status !== "running");
    }, { settings });
  } finally {
    await forge.close();
    await receiver.shutdown();
  }
});
