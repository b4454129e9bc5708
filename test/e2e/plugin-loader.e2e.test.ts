/**
 * How a plugin's TypeScript is loaded (docs/architecture.md, "Loading a plugin"): compiled once into a shared cache by
 * the host, so the plugin process runs no compiler; TypeScript-style imports resolve; stack traces point into the .ts.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { descendantPids, makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const indexCode = `import { NekoPluginBase, nekoPlugin, pluginEntry } from "@neko/plugin-sdk/plugin";
import { twice } from "./util.js";
import { shout } from "./helpers";
import { answer } from "./lib";
import { fromMts } from "./extra.mjs";
import { plain } from "./plain.js";
import { dotted } from "./user.service";
import { which } from "./both.js";

@nekoPlugin
export class LoaderPlugin extends NekoPluginBase {
  @pluginEntry({ id: "imports" })
  imports() {
    return { twice: twice(21), shout: shout("hi"), answer, fromMts, plain, dotted, which };
  }

  @pluginEntry({ id: "where" })
  where() {
    return { stack: new Error("here").stack };
  }

  @pluginEntry({ id: "children" })
  children() {
    return { pid: process.pid, name: LoaderPlugin.name };
  }

  @pluginEntry({ id: "packages" })
  async packages() {
    const ws = await import("ws");
    const other = await import("typescript").then(() => "found", (error) => error.code);
    return { ws: typeof ws.WebSocketServer, other };
  }
}
`;

describe("loading a plugin's TypeScript", () => {
  let root: string;
  let t: TestHost;
  let compileLog: string;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, {
      id: "loader",
      className: "LoaderPlugin",
      code: indexCode,
      files: {
        "util.ts": "export const twice = (n: number): number => n * 2;\n",
        "helpers.ts": 'export function shout(text: string): string { return text.toUpperCase() + "!"; }\n',
        "lib/index.ts": "export const answer: number = 42;\n",
        "extra.mts": "export const fromMts: string = 'mts';\n",
        "plain.js": "export const plain = 'js without a package.json';\n",
        "user.service.ts": "export const dotted: string = 'a dot in the name';\n",
        // A stale compiled file beside its source: from TypeScript, ./both.js means both.ts.
        "both.ts": "export const which: string = 'the .ts source';\n",
        "both.js": "export const which = 'a stale compiled .js';\n",
      },
    });
    // Every compile anywhere is logged with its pid: the host's warm-up may compile, the plugin process must not.
    compileLog = path.join(makeTempDir(), "compiles.log");
    process.env.NEKO_TS_COMPILE_LOG = compileLog;
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    delete process.env.NEKO_TS_COMPILE_LOG;
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(path.dirname(compileLog), { recursive: true, force: true });
  });

  test("TypeScript-style specifiers resolve: ./util.js → util.ts, ./helpers → helpers.ts, ./lib → lib/index.ts, ./user.service → user.service.ts", async () => {
    assert.deepEqual((await t.trigger("loader", "imports")).body.data, {
      twice: 42,
      shout: "HI!",
      answer: 42,
      fromMts: "mts",
      plain: "js without a package.json",
      dotted: "a dot in the name",
      which: "the .ts source",
    });
  });

  test("a package the SDK depends on (ws) imports from a folder outside the repository; another package does not", async () => {
    assert.deepEqual((await t.trigger("loader", "packages")).body.data, {
      ws: "function",
      other: "ERR_MODULE_NOT_FOUND",
    });
  });

  test("a stack trace names the TypeScript file and its line", async () => {
    const { stack } = (await t.trigger("loader", "where")).body.data;
    assert.match(stack, /\/loader\/index\.ts:19:\d+\)/, stack);
  });

  test("the plugin process runs no compiler: it has no child process, and class names survive", async () => {
    const { pid, name } = (await t.trigger("loader", "children")).body.data;
    assert.equal(name, "LoaderPlugin");
    assert.equal((await t.request("GET", "/plugins/loader")).body.pid, pid);
    assert.ok(fs.existsSync(`/proc/${pid}/task`), "the process is visible in /proc");
    assert.deepEqual(descendantPids(pid), []);
    const compiles = fs.existsSync(compileLog) ? fs.readFileSync(compileLog, "utf8").trim().split("\n") : [];
    assert.deepEqual(
      compiles.filter((line) => line.startsWith(`${pid} `)),
      [],
      "the plugin process compiled nothing itself",
    );
  });
});
