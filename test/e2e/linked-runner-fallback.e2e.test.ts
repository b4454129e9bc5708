/**
 * The runner's fallback (packages/sdk/bin/plugin-runner.mjs): a process pointed at a link whose runtime is gone by
 * the time it starts (the cache deleted or pruned between the host's link and the launch) takes the module hooks'
 * path and runs, instead of exiting; one whose runtime is there but whose plugin's own link lost a module loads the
 * plugin through the hooks. The host here hands out such links on purpose.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createSilentLogger, NodePluginLauncher, PLUGIN_RUNNER_PATH } from "@neko/host";
import { linkPluginSources } from "../../packages/sdk/bin/plugin-link.mjs";
import type { PluginLinks } from "../../packages/host/src/supervisor/plugin-links.ts";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class FallbackPlugin extends NekoPluginBase {
  @pluginEntry({ id: "where" })
  where() {
    return Ok({ linked: process.env.NEKO_PLUGIN_LINKED ?? null, url: import.meta.url });
  }
}
`;

describe("a linked process whose link's runtime is gone", () => {
  let root: string;
  let links: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    links = makeTempDir("neko-fallback-links-");
    for (const id of ["main_missing", "import_missing", "sdk_missing"]) {
      // Without the permission model, which would refuse the read of a link outside the compile cache (and so test
      // only the first check).
      const manifest = `[plugin]\nid = "${id}"\nentry = "index.ts:FallbackPlugin"\n\n[plugin_runtime]\npermissions = false\n`;
      writePlugin(root, { id, className: "FallbackPlugin", manifest, code });
    }
    // A link whose runtime module is not there at all.
    const missingDir = path.join(links, `${"a".repeat(40)}.link`);
    fs.mkdirSync(missingDir);
    fs.writeFileSync(
      path.join(missingDir, "manifest.json"),
      JSON.stringify({
        main: pathToFileURL(path.join(missingDir, "0000000000000000-plugin-main.mjs")).href,
        modules: {},
      }),
    );
    // A link whose runtime module is there, but a module it imports went (Node finds that before running any of it).
    const partialDir = path.join(links, `${"b".repeat(40)}.link`);
    fs.mkdirSync(partialDir);
    const main = path.join(partialDir, "0000000000000000-plugin-main.mjs");
    fs.writeFileSync(main, `import "${pathToFileURL(path.join(partialDir, "1111111111111111-gone.mjs")).href}";\n`);
    fs.writeFileSync(
      path.join(partialDir, "manifest.json"),
      JSON.stringify({ main: pathToFileURL(main).href, modules: {} }),
    );
    // A real link of a plugin (index.ts → util.ts), then util's compiled module deleted (a prune cut short, say).
    const partPlugin = writePlugin(root, {
      id: "plugin_part_missing",
      className: "FallbackPlugin",
      manifest:
        '[plugin]\nid = "plugin_part_missing"\nentry = "index.ts:FallbackPlugin"\n\n[plugin_runtime]\npermissions = false\n',
      code: code
        .replace(
          'pluginEntry, Ok } from "@neko/plugin-sdk/plugin";',
          'pluginEntry, Ok } from "@neko/plugin-sdk/plugin";\nimport { word } from "./util.js";',
        )
        .replace("url: import.meta.url", "url: import.meta.url, word"),
      files: { "util.ts": 'export const word: string = "from util";\n' },
    });
    const real = await linkPluginSources({
      entry: path.join(partPlugin, "index.ts"),
      pluginDir: partPlugin,
      cacheDir: links,
    });
    assert.ok(real.ok, real.ok ? "" : real.reason);
    const linkedModules = JSON.parse(fs.readFileSync(real.manifest, "utf8")).modules as Record<string, string>;
    fs.rmSync(fileURLToPath(linkedModules[pathToFileURL(fs.realpathSync(path.join(partPlugin, "util.ts"))).href]));
    // A link made for a startup snapshot whose SDK modules (the snapshot's link) went: the plugin's modules import them.
    const sdkPlugin = path.join(root, "sdk_missing");
    const forSnapshot = await linkPluginSources({
      entry: path.join(sdkPlugin, "index.ts"),
      pluginDir: sdkPlugin,
      cacheDir: links,
      snapshot: true,
    });
    assert.ok(forSnapshot.ok && forSnapshot.snapshotScript !== undefined, forSnapshot.ok ? "" : forSnapshot.reason);
    const sdkModule = (JSON.parse(fs.readFileSync(forSnapshot.manifest, "utf8")).modules as Record<string, string>)[
      pathToFileURL(fileURLToPath(new URL("../../packages/sdk/src/plugin.ts", import.meta.url))).href
    ];
    assert.equal(path.dirname(fileURLToPath(sdkModule)), path.dirname(forSnapshot.snapshotScript));
    fs.rmSync(fileURLToPath(sdkModule));
    const manifests: Record<string, string> = {
      main_missing: path.join(missingDir, "manifest.json"),
      import_missing: path.join(partialDir, "manifest.json"),
      sdk_missing: forSnapshot.manifest,
      plugin_part_missing: real.manifest,
    };
    const brokenLinks = {
      manifestFor: (entryModule: string) => manifests[path.basename(path.dirname(entryModule))],
      snapshotFor: () => undefined,
      launched: () => undefined,
    } as unknown as PluginLinks;
    const logger = createSilentLogger();
    t = await startTestHost({
      roots: [root],
      launcher: new NodePluginLauncher({ runnerPath: PLUGIN_RUNNER_PATH, logger, links: brokenLinks }),
    });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(links, { recursive: true, force: true });
  });

  for (const id of ["main_missing", "import_missing", "sdk_missing"]) {
    test(`${id}: the process runs through the module hooks (its module is its .ts file, no link named)`, async () => {
      assert.equal(t.host.getPlugin(id)?.status, "running", JSON.stringify(t.host.getPlugin(id)));
      const res = await t.trigger(id, "where");
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.data, {
        linked: null,
        url: pathToFileURL(fs.realpathSync(path.join(root, id, "index.ts"))).href,
      });
    });
  }

  test("plugin_part_missing: a plugin link that lost a module loads the plugin through the hooks; the runtime stays linked", async () => {
    assert.equal(
      t.host.getPlugin("plugin_part_missing")?.status,
      "running",
      JSON.stringify(t.host.getPlugin("plugin_part_missing")),
    );
    const res = await t.trigger("plugin_part_missing", "where");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const data = res.body.data as { linked: string | null; word: string };
    assert.equal(data.word, "from util");
    assert.match(data.linked ?? "", /\.link\/manifest\.json$/);
  });
});
