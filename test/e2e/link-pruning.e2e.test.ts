/**
 * Old links are pruned (plugin-links.ts, pruneLinks in plugin-link.mjs): at the host's first link and after a link is
 * made again, every link no running process imports and not used within the grace period goes; the links of running
 * processes stay, and those plugins keep working and restart. The grace period is 0 here (NEKO_PLUGIN_LINK_GRACE_MS):
 * what keeps a link is only that a process or thread of this host runs from it, or that it is the latest link of a
 * plugin, or being prepared (a prune asks right before each removal).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = (
  version: string,
) => `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class PrunedPlugin extends NekoPluginBase {
  @pluginEntry({ id: "version" })
  version() {
    return Ok({ version: "${version}", linked: process.env.NEKO_PLUGIN_LINKED ?? null });
  }
}
`;

/** A thread plugin whose entry imports a module lazily, from its link, at each call; `broken`: fails to load. */
const lazyThread = (
  version: string,
  broken = false,
) => `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";
${broken ? 'throw new Error("broken on load");\n' : ""}
@nekoPlugin
export class LazyThreadPlugin extends NekoPluginBase {
  @pluginEntry({ id: "lazy" })
  async lazy() {
    const { word } = await import("./lazy.js");
    return Ok({ version: "${version}", word, linked: process.env.NEKO_PLUGIN_LINKED ?? null });
  }
}
`;

describe("pruning old links", () => {
  let root: string;
  let cacheDir: string;
  let t: TestHost;
  const saved = { cache: process.env.NEKO_TS_CACHE_DIR, grace: process.env.NEKO_PLUGIN_LINK_GRACE_MS };
  const old = ["1", "2"].map((c) => `${c.repeat(40)}.link`);
  const links = () =>
    fs
      .readdirSync(cacheDir)
      .filter((name) => /^[0-9a-f]{40}\.link$/.test(name))
      .sort();

  before(async () => {
    root = makeTempDir();
    cacheDir = path.join(makeTempDir("neko-prune-cache-"), "cache");
    process.env.NEKO_TS_CACHE_DIR = cacheDir;
    process.env.NEKO_PLUGIN_LINK_GRACE_MS = "0";
    // Links of an older version, an hour old, and an index naming one of them.
    fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    const hourAgo = new Date(Date.now() - 3600_000);
    for (const name of old) {
      fs.mkdirSync(path.join(cacheDir, name));
      fs.writeFileSync(path.join(cacheDir, name, "complete"), "");
      fs.utimesSync(path.join(cacheDir, name), hourAgo, hourAgo);
    }
    fs.writeFileSync(path.join(cacheDir, `${"3".repeat(40)}.links.json`), JSON.stringify({ key: "1".repeat(40) }));
    fs.utimesSync(path.join(cacheDir, `${"3".repeat(40)}.links.json`), hourAgo, hourAgo);
    for (const id of ["keeper", "edited"]) writePlugin(root, { id, className: "PrunedPlugin", code: code("v1") });
    writePlugin(root, {
      id: "lazy-thread",
      manifest:
        '[plugin]\nid = "lazy-thread"\nentry = "index.ts:LazyThreadPlugin"\n[plugin_runtime]\nisolation = "thread"\n',
      code: lazyThread("v1"),
      files: { "lazy.ts": 'export const word: string = "lazy";\n' },
    });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t?.close();
    for (const [key, value] of [
      ["NEKO_TS_CACHE_DIR", saved.cache],
      ["NEKO_PLUGIN_LINK_GRACE_MS", saved.grace],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(path.dirname(cacheDir), { recursive: true, force: true });
  });

  const version = async (id: string) => {
    const res = await t.trigger(id, "version");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.data as { version: string; linked: string | null };
  };

  test("at the host's start the old links and an index naming a gone link go; the running plugins' links stay", async () => {
    const keeper = await version("keeper");
    const edited = await version("edited");
    assert.ok(keeper.linked && edited.linked);
    await waitFor(() => !links().some((name) => old.includes(name)), { what: "the old links pruned" });
    assert.equal(fs.existsSync(path.join(cacheDir, `${"3".repeat(40)}.links.json`)), false);
    for (const manifest of [keeper.linked, edited.linked]) assert.ok(fs.existsSync(manifest), manifest);
  });

  test("a plugin linked again: its old link goes at the next prune, the link in use stays and its plugin runs and restarts", async () => {
    const keeper = await version("keeper");
    const before = await version("edited");
    fs.writeFileSync(path.join(root, "edited", "index.ts"), code("v2"));
    assert.equal((await t.request("POST", "/plugin/edited/reload")).status, 200);
    const after = await version("edited");
    assert.equal(after.version, "v2");
    assert.notEqual(after.linked, before.linked);
    // The old process was still running when the new link was made; a later link (another edit) prunes its link.
    fs.writeFileSync(path.join(root, "edited", "index.ts"), code("v3"));
    assert.equal((await t.request("POST", "/plugin/edited/reload")).status, 200);
    const third = await version("edited");
    assert.equal(third.version, "v3");
    const oldDir = path.dirname(before.linked as string);
    await waitFor(() => !fs.existsSync(oldDir), { what: "the first link of 'edited' pruned" });
    // The running keeper's link (and the SDK's, which it imports from) stayed: it runs, and restarts from it.
    assert.ok(fs.existsSync(keeper.linked as string));
    assert.equal((await version("keeper")).version, "v1");
    assert.equal((await t.request("POST", "/plugin/keeper/stop")).status, 200);
    assert.equal((await t.request("POST", "/plugin/keeper/start")).status, 200);
    const restarted = await version("keeper");
    assert.deepEqual(restarted, keeper);
    assert.equal((await version("edited")).version, "v3");
  });

  test("a running thread's link is in use: a reload whose new code links but fails to load leaves it, and its lazy import works", async () => {
    const first = await t.trigger("lazy-thread", "lazy");
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const running = first.body.data as { version: string; word: string; linked: string | null };
    assert.equal(running.word, "lazy");
    assert.ok(running.linked);
    // The new code links (a new link, the plugin's latest, and a prune at grace 0) but throws as it loads: the
    // swap fails and the old thread keeps serving from its link.
    // An aged index naming no link: the prune removes indexes after every link it removes, so its going says that
    // the prune after this reload's link is over.
    const marker = path.join(cacheDir, `${"4".repeat(40)}.links.json`);
    fs.writeFileSync(marker, JSON.stringify({ key: "5".repeat(40) }));
    const hourAgo = new Date(Date.now() - 3600_000);
    fs.utimesSync(marker, hourAgo, hourAgo);
    fs.writeFileSync(path.join(root, "lazy-thread", "index.ts"), lazyThread("v2", true));
    const reload = await t.request("POST", "/plugin/lazy-thread/reload");
    assert.notEqual(reload.status, 200, JSON.stringify(reload.body));
    await waitFor(() => !fs.existsSync(marker), { what: "the prune after the reload's link", timeoutMs: 30_000 });
    assert.ok(fs.existsSync(running.linked as string), "the running thread's link stayed");
    const again = await t.trigger("lazy-thread", "lazy");
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.deepEqual(again.body.data, running);
  });
});
