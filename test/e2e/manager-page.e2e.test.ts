/**
 * The plugin manager page (SPEC §5.2, docs/manager.md) in Debian's Chromium, against a real server with real plugin
 * processes, found by visible text, labels and roles: the list and its states, stop/start from the page (and by
 * keyboard), an entry's generated form (a control per schema type, the result, a field's error), a run's progress and
 * cancel, live logs, a crash shown without reload, messages and events, the plugin's UI in a sandboxed frame, the
 * token form, the narrow window and dark mode. Through all of it: no request leaves the origin and the console stays
 * clean. Screenshots of every view go to the test's temp folder (kept with NEKO_KEEP_SCREENSHOTS=1).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { BrowserContext, Locator, Page } from "playwright-core";
import { createPluginServer } from "@neko/server";
import type { FastifyInstance } from "fastify";
import { CHROMIUM_SKIP, launchChromium } from "../support/chromium.ts";
import { shopManifest, shopPluginCode } from "../support/manager-test-plugins.ts";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const EXAMPLES = path.resolve(import.meta.dirname, "../../plugins");

describe("the manager page in a real browser", { skip: CHROMIUM_SKIP }, () => {
  let root: string;
  let profile: string;
  let shots: string;
  let t: TestHost;
  let browser: BrowserContext;
  let page: Page;
  const offOrigin: string[] = [];
  const consoleErrors: string[] = [];
  /** Answers a test provokes on purpose (a 400 for bad arguments): Chromium logs every 4xx fetch as an error. */
  const expectedFailures: { url: RegExp; status: number }[] = [];
  let navigations = 0;

  const shot = (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  const open = async (hash: string) => {
    await page.goto(`${t.url}/${hash}`);
    await page.getByText("Live", { exact: true }).waitFor();
  };
  const plugin = async (id: string) => (await t.request("GET", `/plugins/${id}`)).body;
  const row = (name: string) => page.getByRole("row").filter({ has: page.getByRole("link", { name, exact: true }) });
  const hasText = (locator: Locator, text: string | RegExp) => locator.filter({ hasText: text }).first().waitFor();

  before(async () => {
    root = makeTempDir("neko-manager-");
    profile = makeTempDir("neko-manager-profile-");
    shots = makeTempDir("neko-manager-screenshots-");
    writePlugin(root, { id: "shop", className: "ShopPlugin", code: shopPluginCode, manifest: shopManifest });
    for (const example of ["hello_world", "hello_world_extra"]) {
      fs.cpSync(path.join(EXAMPLES, example), path.join(root, example), { recursive: true });
    }
    t = await startTestHost({ roots: [root] }, { server: { adminMetricsIntervalMs: 300 } });
    browser = await launchChromium(profile);
    page = await browser.newPage();
    page.on("request", (req) => {
      const url = req.url();
      if (!url.startsWith(`${t.url}/`) && !url.startsWith("data:")) offOrigin.push(url);
    });
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const { url } = message.location();
      const status = Number(/status of (\d+)/.exec(message.text())?.[1]);
      if (expectedFailures.some((f) => f.url.test(url) && f.status === status)) return;
      consoleErrors.push(`${message.text()} (${url})`);
    });
    page.on("pageerror", (error) => consoleErrors.push(String(error)));
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) navigations += 1;
    });
  });

  after(async () => {
    const closed = await Promise.allSettled([browser?.close(), t?.close()]);
    for (const dir of [root, profile]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (shots && process.env.NEKO_KEEP_SCREENSHOTS !== "1") fs.rmSync(shots, { recursive: true, force: true });
    else if (shots) console.log(`manager page screenshots: ${shots}`);
    for (const result of closed) if (result.status === "rejected") throw result.reason;
  });

  test("the page is served with its security headers and its assets are cacheable", async () => {
    const res = await fetch(`${t.url}/`);
    assert.equal(res.status, 200);
    const csp = res.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers.get("cache-control"), "no-cache");
    const html = await res.text();
    const script = /src="(\/ui\/assets\/manager-[\w-]+\.js)"/.exec(html)?.[1];
    assert.ok(script, html);
    const asset = await fetch(t.url + script);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get("content-type") ?? "", /^text\/javascript/);
    assert.match(asset.headers.get("cache-control") ?? "", /immutable/);
    assert.equal((await fetch(`${t.url}/ui/`)).status, 200);
    const missing = await fetch(`${t.url}/ui/assets/..%2Fpackage.json`);
    assert.equal(missing.status, 404);
  });

  test("the dashboard counts the plugins by state and shows the server", async () => {
    await open("#/");
    const states = page.getByRole("region", { name: "Plugins by state" });
    await hasText(states, /running\s*2/);
    await hasText(states, /injected\s*1/);
    const server = page.getByRole("region", { name: "Server" });
    await hasText(server, process.version);
    await hasText(page.getByRole("region", { name: "Resources" }), /MiB/);
    await shot("dashboard");
  });

  test("the list shows every plugin with its state, type and version, and filters them", async () => {
    await open("#/plugins");
    for (const name of ["Shop", "Hello World"]) await hasText(row(name), "running");
    const listed = (await t.request("GET", "/plugins")).body.plugins as { name: string; status: string }[];
    const rows = await page.getByRole("row").count();
    assert.equal(rows, listed.length + 1, "a row per plugin and the header row");
    await hasText(row("Shop"), "0.3.0");
    await hasText(row("Shop"), /MiB/);
    await page.getByLabel("Name or id").fill("hello");
    await page.getByText("2 of 3 plugins").waitFor();
    assert.equal(await row("Shop").count(), 0);
    await page.getByLabel("Name or id").fill("");
    await page.getByLabel("State").selectOption("running");
    await page.getByText("2 of 3 plugins").waitFor();
    await page.getByLabel("State").selectOption("");
    await page.getByLabel("Type").selectOption("extension");
    await page.getByText("1 of 3 plugins").waitFor();
    await hasText(row("Hello World Extra"), "injected");
    await page.getByLabel("Type").selectOption("");
    await shot("plugins");
  });

  test("stopping and starting a plugin from the page changes its state in the page and in /plugins", async () => {
    await open("#/plugins");
    const pidBefore = (await plugin("shop")).pid;
    await page.getByRole("button", { name: "Stop Shop" }).click();
    await hasText(row("Shop"), "stopped");
    await page.getByText("Stop shop: stopped").waitFor();
    assert.equal((await plugin("shop")).status, "stopped");
    // By keyboard: the start button takes focus and Enter presses it.
    await page.getByRole("button", { name: "Start Shop" }).focus();
    await page.keyboard.press("Enter");
    await hasText(row("Shop"), "running");
    const after = await plugin("shop");
    assert.equal(after.status, "running");
    assert.notEqual(after.pid, pidBefore);
  });

  test("an entry's generated form has a control per schema type, shows the result and a field's error", async () => {
    await open("#/plugins/shop/entries");
    const card = page.getByRole("article", { name: /Place an order/ });
    await card.waitFor();
    const item = card.getByRole("textbox", { name: /item/ });
    assert.equal(await item.getAttribute("aria-required"), "true");
    assert.match((await card.getByText("What to order").textContent()) ?? "", /What to order/);
    const quantity = card.getByRole("spinbutton", { name: /quantity/ });
    assert.equal(await quantity.inputValue(), "1", "the default");
    assert.equal(await quantity.getAttribute("min"), "1");
    assert.equal(await quantity.getAttribute("max"), "10");
    const express = card.getByRole("checkbox", { name: "express" });
    const size = card.getByRole("combobox", { name: /size/ });
    assert.deepEqual(await size.locator("option").allTextContents(), ["(not set)", "small", "medium", "large"]);
    const tags = card.getByRole("group", { name: "tags" });
    const address = card.getByRole("group", { name: "address" });
    assert.equal(await address.getByRole("textbox", { name: /city/ }).getAttribute("aria-required"), "true");

    await item.fill("tea");
    await quantity.fill("3");
    await express.check();
    await size.selectOption("large");
    await tags.getByRole("button", { name: "Add an item to tags" }).click();
    await tags.getByRole("textbox", { name: "Item 1" }).fill("green");
    await address.getByRole("textbox", { name: /city/ }).fill("Kyoto");
    await card.getByRole("button", { name: "Run Place an order", exact: true }).click();
    const result = card.getByRole("region", { name: "Result of Place an order" });
    await hasText(result, "3 x large tea, express=true, tags=green");
    await shot("entry-result");

    await quantity.fill("50");
    expectedFailures.push({ url: /\/plugin\/trigger$/, status: 400 });
    await card.getByRole("button", { name: "Run Place an order", exact: true }).click();
    const error = card.locator("#entry-order-f-quantity--error");
    await hasText(error, /10/);
    assert.equal(await quantity.getAttribute("aria-invalid"), "true");
    assert.match((await quantity.getAttribute("aria-describedby")) ?? "", /entry-order-f-quantity--error/);
    await hasText(card.getByRole("alert").filter({ hasText: "VALIDATION_ERROR" }), "quantity");
    await shot("entry-field-error");

    // A nested field's error lands under that field.
    await quantity.fill("2");
    await address.getByRole("textbox", { name: /city/ }).fill("");
    await card.getByRole("button", { name: "Run Place an order", exact: true }).click();
    const city = address.getByRole("textbox", { name: /city/ });
    await page.waitForFunction((el) => el?.getAttribute("aria-invalid") === "true", await city.elementHandle());
    const describedBy = (await city.getAttribute("aria-describedby")) ?? "";
    const cityError = page.locator(`[id="${describedBy.split(" ").find((id) => id.endsWith("-error"))}"]`);
    await hasText(cityError, /required/);
  });

  test("the config form generated from the config schema saves a valid change and shows a refusal", async () => {
    await open("#/plugins/shop/config");
    const form = page.getByRole("form", { name: "Settings" });
    const maxItems = form.getByRole("spinbutton", { name: /max_items/ });
    assert.equal(await maxItems.inputValue(), "10");
    assert.equal(await maxItems.getAttribute("max"), "100");
    await hasText(form, "Most items in one order");
    const currency = form.getByRole("combobox", { name: /currency/ });
    assert.deepEqual(await currency.locator("option").allTextContents(), ["(not set)", "EUR", "JPY", "USD"]);
    assert.equal(await form.getByRole("checkbox", { name: "open" }).isChecked(), true);
    const manifest = path.join(root, "shop", "plugin.toml");

    await maxItems.fill("20");
    await currency.selectOption("JPY");
    await form.getByRole("button", { name: "Save" }).click();
    await form.getByText("Saved.").waitFor();
    const saved = (await t.request("GET", "/plugin/shop/config")).body.config.shop;
    assert.deepEqual(saved, { max_items: 20, currency: "JPY", open: true });
    assert.match(fs.readFileSync(manifest, "utf8"), /max_items = 20/);

    expectedFailures.push({ url: /\/plugin\/shop\/config\/hot-update$/, status: 400 });
    await maxItems.fill("1000");
    await form.getByRole("button", { name: "Save" }).click();
    await hasText(form.getByRole("alert"), /Refused: CONFIG_INVALID.*shop\.max_items/);
    assert.equal(await maxItems.getAttribute("aria-invalid"), "true");
    assert.equal((await t.request("GET", "/plugin/shop/config")).body.config.shop.max_items, 20);
    assert.match(fs.readFileSync(manifest, "utf8"), /max_items = 20/);
    await shot("config");
  });

  test("a run in the background shows its progress live and can be canceled", async () => {
    await open("#/plugins/shop/entries");
    const card = page.getByRole("article", { name: "slow" });
    await card.getByRole("button", { name: "Run slow in background" }).click();
    const progress = card.getByRole("progressbar");
    await page.waitForFunction((el) => Number((el as HTMLProgressElement).value) >= 10, await progress.elementHandle());
    await hasText(card, "running");
    await card.getByRole("button", { name: "Cancel slow" }).click();
    await hasText(card, "canceled");
    await page.getByRole("link", { name: "Runs" }).click();
    await hasText(page.getByRole("row").filter({ hasText: "slow" }), "canceled");
    await shot("runs");
  });

  test("a plugin's log line appears live", async () => {
    await open("#/plugins/shop/logs");
    const log = page.getByRole("log", { name: "Log lines of shop" });
    await page.getByText("Following live").waitFor();
    const word = `word-${Date.now()}`;
    const said = await t.trigger("shop", "say", { word });
    assert.equal(said.status, 200);
    await hasText(log, `the page should see ${word}`);
    await page.getByLabel("Search in messages").fill("no-such-line-anywhere");
    await page.getByText("No log lines match.").waitFor();
    await page.getByLabel("Search in messages").fill(word);
    await hasText(page.getByRole("log", { name: "Log lines of shop" }), word);
    await shot("logs");
  });

  test("metrics, overview and the plugin's own UI in a sandboxed frame", async () => {
    await open("#/plugins/shop/metrics");
    await page.getByRole("img", { name: /CPU and memory over the last/ }).waitFor();
    await hasText(page.getByRole("table"), "order");
    await shot("metrics");
    await page.getByRole("link", { name: "Overview" }).click();
    await hasText(page.getByRole("region", { name: "Reported status" }), '"mood": "open"');
    await shot("overview");
    await open("#/plugins/hello_world/ui");
    const frame = page.getByTitle("The web UI of hello_world");
    assert.equal(await frame.getAttribute("sandbox"), "allow-scripts allow-forms");
    await page
      .frameLocator('iframe[title="The web UI of hello_world"]')
      .getByRole("heading", { name: "Hello World" })
      .waitFor();
    await shot("plugin-ui");
  });

  test("an extension is disabled and enabled from its host plugin's page", async () => {
    await open("#/plugins/hello_world/extensions");
    const item = page.getByRole("listitem").filter({ hasText: "hello_world_extra" });
    await hasText(item, "injected");
    await item.getByRole("button", { name: "Disable hello_world_extra" }).click();
    await hasText(item, "disabled");
    assert.equal((await plugin("hello_world_extra")).status, "disabled");
    await shot("extensions");
    await item.getByRole("button", { name: "Enable hello_world_extra" }).click();
    await hasText(item, "injected");
    assert.equal((await plugin("hello_world_extra")).status, "injected");
  });

  test("messages and events arrive live", async () => {
    await open("#/messages");
    const text = `note-${Date.now()}`;
    assert.equal((await t.trigger("shop", "notify", { text })).status, 200);
    await hasText(page.getByRole("log", { name: "Messages" }), text);
    await shot("messages");
    await page.getByRole("link", { name: "Events" }).click();
    await hasText(page.getByRole("log", { name: "Events" }), "shop.noted");
    await page.getByLabel("Namespace").selectOption("lifecycle");
    await hasText(page.getByRole("log", { name: "Events" }), "lifecycle");
    await shot("events");
  });

  test("a crash shows live, without reloading the page", async () => {
    await open("#/");
    const before = navigations;
    const pid = (await plugin("shop")).pid;
    await t.trigger("shop", "crash");
    await hasText(page.getByRole("region", { name: "Recent crashes" }), "shop");
    await hasText(page.getByRole("region", { name: "Recent crashes" }), /exited with code 3/);
    await shot("crash");
    assert.equal(navigations, before, "the page was not reloaded");
    await waitFor(async () => (await plugin("shop")).status === "running" && (await plugin("shop")).pid !== pid, {
      timeoutMs: 30_000,
      what: "shop restarted",
    });
  });

  test("every input has a label, and the narrow window does not scroll sideways", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      for (const view of ["#/", "#/plugins", "#/plugins/shop/entries", "#/plugins/shop/config", "#/events"]) {
        await open(view);
        await page.getByRole("heading", { level: 1 }).first().waitFor();
        const unlabeled = await page.evaluate(() =>
          Array.from(document.querySelectorAll("input, select, textarea"))
            .filter((el) => (el as HTMLInputElement).labels?.length === 0 && !el.getAttribute("aria-label"))
            .map((el) => el.outerHTML),
        );
        assert.deepEqual(unlabeled, [], `unlabeled controls on ${view}`);
        const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
        assert.ok(widths[0] <= widths[1], `${view} scrolls sideways: ${widths[0]} > ${widths[1]}`);
        await shot(`narrow-${view.replace(/\W+/g, "-")}`);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });

  test("dark mode follows the system", async () => {
    await page.emulateMedia({ colorScheme: "light" });
    await open("#/plugins");
    const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: "dark" });
    const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.notEqual(light, dark);
    assert.equal(dark, "rgb(17, 20, 24)");
    await shot("dark");
    await page.emulateMedia({ colorScheme: "light" });
  });

  test("with an API token the page asks for it, and then works", async () => {
    const token = "s3cret-token-for-the-page";
    const guarded: FastifyInstance = await createPluginServer({ host: t.host, apiToken: token });
    await guarded.listen({ port: 0, host: "127.0.0.1" });
    try {
      const tokenPage = await browser.newPage();
      try {
        tokenPage.on("request", (req) => {
          if (!req.url().startsWith(`${guarded.listeningOrigin}/`) && !req.url().startsWith("data:")) {
            offOrigin.push(req.url());
          }
        });
        tokenPage.on("console", (message) => {
          // The requests and the socket before the token is given are refused with 401, as they should be.
          const refused = /status of 401|HTTP Authentication failed/.test(message.text());
          if (message.type() === "error" && !refused) consoleErrors.push(`${message.text()} (token page)`);
        });
        await tokenPage.goto(`${guarded.listeningOrigin}/#/plugins`);
        await tokenPage.getByRole("heading", { name: "This server needs its API token" }).waitFor();
        await tokenPage.getByLabel("API token", { exact: true }).fill(token);
        await tokenPage.getByRole("button", { name: "Use token" }).click();
        await tokenPage.getByRole("link", { name: "Shop", exact: true }).waitFor();
        await tokenPage.getByText("Live", { exact: true }).waitFor();
        // A frame cannot send the token: the plugin UI section says so instead of showing a 401.
        await tokenPage.goto(`${guarded.listeningOrigin}/#/plugins/hello_world/ui`);
        await tokenPage.getByText(/cannot send with the plugin's page/).waitFor();
        assert.equal(await tokenPage.locator("iframe").count(), 0);
      } finally {
        await tokenPage.close();
      }
    } finally {
      await guarded.close();
    }
  });

  test("no request left the origin and the console stayed clean", () => {
    assert.deepEqual(offOrigin, []);
    assert.deepEqual(consoleErrors, []);
  });
});
