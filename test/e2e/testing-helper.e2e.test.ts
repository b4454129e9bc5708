/** `@neko/plugin-sdk/testing`: a real plugin process under a throw-away host, called, faked, stopped (docs/testing.md). */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { startTestPlugin } from "@neko/plugin-sdk/testing";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";

const askerCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Err, SdkError } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Asker extends NekoPluginBase {
  @pluginEntry({ id: "ask" })
  async ask({ target, args = {} }: { target: string; args?: Record<string, unknown> }) {
    const answer = await this.plugins.callEntry(target, args);
    return answer.ok ? { value: answer.value } : { code: answer.error.code, message: answer.error.message };
  }

  @pluginEntry({ id: "remember" })
  async remember({ key }: { key: string }) {
    const stored = await this.memory.store(key, { note: key });
    const found = await this.memory.search(key);
    return { stored: stored.ok ? stored.value : String(stored.error), found: found.ok ? found.value : [] };
  }

  @pluginEntry({ id: "setting" })
  setting() {
    this.logger.info("reading the setting");
    return { level: this.config.get("asker.level", "none") };
  }

  @pluginEntry({ id: "refuse" })
  refuse() {
    return Err(new SdkError("not today", { code: "NOT_TODAY" }));
  }

  @pluginEntry({ id: "write" })
  async write() {
    const written = await this.store.set("k", 1);
    return written.ok;
  }
}
`;

describe("startTestPlugin", () => {
  const root = makeTempDir();
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  const dir = writePlugin(root, {
    id: "asker",
    className: "Asker",
    code: askerCode,
    manifest: '[plugin]\nid = "asker"\nentry = "index.ts:Asker"\n\n[asker]\nlevel = "low"\n',
  });

  test("calls the plugin's entries in a real process; fakes answer its calls; stop leaves no process", async () => {
    const plugin = await startTestPlugin(dir, {
      fakes: {
        plugins: {
          "weather:today": (args) => ({ sky: "clear", city: args.city }),
          "weather:broken": () => {
            throw new Error("sensor down");
          },
        },
      },
    });
    try {
      assert.equal(plugin.id, "asker");
      assert.ok(plugin.pid > 0 && plugin.pid !== process.pid && isAlive(plugin.pid));
      assert.deepEqual(await plugin.call("ask", { target: "weather:today", args: { city: "Kyoto" } }), {
        ok: true,
        value: { value: { sky: "clear", city: "Kyoto" } },
      });
      const broken = await plugin.call<{ code: string; message: string }>("ask", { target: "weather:broken" });
      assert.equal(broken.ok && broken.value.message, "sensor down");
      // Not faked: the host answers as it would anywhere.
      const unknown = await plugin.call<{ code: string }>("ask", { target: "nobody:here" });
      assert.equal(unknown.ok && unknown.value.code, "PLUGIN_NOT_FOUND");
      const refused = await plugin.call("refuse");
      assert.equal(!refused.ok && refused.error.code, "NOT_TODAY");
      const missing = await plugin.call("nope");
      assert.equal(!missing.ok && missing.error.code, "ENTRY_NOT_FOUND");
      // The manifest's own configuration, and a log line of the process.
      assert.deepEqual(await plugin.call("setting"), { ok: true, value: { level: "low" } });
      assert.ok(plugin.logs().some((line) => line.msg === "reading the setting"));
      // The store writes go to a copy: the folder under test gets no data/.
      assert.deepEqual(await plugin.call("write"), { ok: true, value: true });
      assert.equal(fs.existsSync(path.join(dir, "data")), false);
    } finally {
      await plugin.stop();
      await plugin.stop();
    }
    await waitFor(() => !isAlive(plugin.pid), { what: "the plugin process to be gone" });
  });

  test("config is merged over the manifest; memory can be faked or left to the throw-away host", async () => {
    const stored: unknown[] = [];
    await using faked = await startTestPlugin(dir, {
      config: { asker: { level: "high" } },
      fakes: {
        memory: {
          store: (key, value, { bucket }) => {
            stored.push({ key, value, bucket });
            return { id: 1, key, bucket };
          },
          search: (query) => [{ key: query, score: 1 }],
        },
      },
    });
    assert.deepEqual(await faked.call("setting"), { ok: true, value: { level: "high" } });
    assert.deepEqual(await faked.call("remember", { key: "tea" }), {
      ok: true,
      value: { stored: { id: 1, key: "tea", bucket: "default" }, found: [{ key: "tea", score: 1 }] },
    });
    assert.deepEqual(stored, [{ key: "tea", value: { note: "tea" }, bucket: "default" }]);

    await using real = await startTestPlugin(dir);
    const remembered = await real.call<{ found: { key: string }[] }>("remember", { key: "tea" });
    assert.deepEqual(remembered.ok && remembered.value.found.map((hit) => hit.key), ["tea"]);
  });

  test("a plugin that fails to load makes startTestPlugin reject with the reason, and leaves nothing running", async () => {
    const broken = writePlugin(root, {
      id: "broken",
      className: "Broken",
      code: 'throw new Error("boom at import");\n',
    });
    const temps = () => fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith("neko-test-plugin-")).length;
    const before = temps();
    await assert.rejects(startTestPlugin(broken), /plugin 'broken' did not start: .*boom at import/);
    assert.equal(temps(), before);
    await assert.rejects(startTestPlugin(path.join(root, "absent")), /no plugin\.toml|absent/);
    await assert.rejects(
      startTestPlugin(dir, { config: { plugin: { id: "other" } } }),
      /config cannot change the \[plugin\] table/,
    );
  });
});

describe("neko-plugin test", () => {
  test("a failing test that never stops its plugin ends the run: exit 1, no process and no temp folder left", async () => {
    const root = makeTempDir();
    const tmp = makeTempDir("neko-test-tmp-");
    try {
      const dir = writePlugin(root, {
        id: "forgotten",
        className: "Forgotten",
        code: askerCode.replace("Asker", "Forgotten"),
      });
      fs.writeFileSync(
        path.join(dir, "index.test.ts"),
        [
          'import assert from "node:assert/strict";',
          'import { test } from "node:test";',
          'import { startTestPlugin } from "@neko/plugin-sdk/testing";',
          "",
          'test("forgets to stop its plugin, then fails", async () => {',
          "  const plugin = await startTestPlugin(import.meta.dirname);",
          "  console.log(`pid=${plugin.pid}`);",
          "  assert.equal(1, 2);",
          "});",
          "",
        ].join("\n"),
      );
      const bin = path.resolve(import.meta.dirname, "../../packages/cli/bin/neko-plugin.js");
      const started = Date.now();
      const run = spawnSync(process.execPath, [bin, "test", dir], {
        env: { ...process.env, TMPDIR: tmp, NODE_TEST_CONTEXT: undefined },
        encoding: "utf8",
        timeout: 100_000,
      });
      assert.equal(run.status, 1, `${run.stdout}\n${run.stderr}`);
      assert.ok(Date.now() - started < 90_000);
      const pid = Number(/pid=(\d+)/.exec(run.stdout)?.[1]);
      assert.ok(pid > 0, run.stdout);
      assert.deepEqual(
        fs.readdirSync(tmp).filter((name) => name.startsWith("neko-test-plugin-")),
        [],
        "its temp folder went with the test process",
      );
      await waitFor(() => !isAlive(pid), { what: "the forgotten plugin process to exit" });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
