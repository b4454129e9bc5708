/**
 * What an operator sees of calls and processes (docs/logging.md): one host log line per finished call, `info` when it
 * answered and `warn` when it timed out; none with `logCalls: false`; plugin processes named `neko-plugin: <id>`.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { createHostLogger } from "@neko/host";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { calcPluginCode, crashyPluginCode } from "../support/sample-plugins.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

interface CallLine {
  level: number;
  plugin: string;
  msg: string;
  call: { entry: string; outcome: string; ms: number; run_id: string | null };
}

/** A host whose logger writes JSON lines into `lines`. */
async function hostWithLines(root: string, logCalls?: boolean): Promise<{ t: TestHost; lines: string[] }> {
  const lines: string[] = [];
  const logger = createHostLogger({ level: "info", pretty: false, destination: { write: (line) => lines.push(line) } });
  const t = await startTestHost({ roots: [root], logger, ...(logCalls !== undefined && { logCalls }) });
  return { t, lines };
}

function callLines(lines: string[]): CallLine[] {
  return lines.map((line) => JSON.parse(line)).filter((record) => record.call !== undefined);
}

describe("the log line per call", () => {
  let root: string;
  let t: TestHost;
  let lines: string[];

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "calc", className: "CalcPlugin", code: calcPluginCode });
    writePlugin(root, { id: "crashy", className: "CrashyPlugin", code: crashyPluginCode });
    writePlugin(root, {
      id: "thrower",
      className: "Thrower",
      code: [
        'import { NekoPluginBase, nekoPlugin, pluginEntry } from "@neko/plugin-sdk/plugin";',
        "",
        'function deep(): never { throw new Error("kaboom"); }',
        "",
        "@nekoPlugin",
        "export class Thrower extends NekoPluginBase {",
        '  @pluginEntry({ id: "go" })',
        "  go() { deep(); }",
        "}",
        "",
      ].join("\n"),
    });
    writePlugin(root, {
      id: "throws_at_load",
      code: 'const answer = 42;\n\nthrow new Error("boom at load " + answer);\n',
    });
    ({ t, lines } = await hostWithLines(root));
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("an Ok call is one info line: plugin:entry, ok, its duration and its run id", async () => {
    const res = await t.trigger("calc", "add", { a: 1, b: 2 });
    assert.equal(res.status, 200);
    const found = callLines(lines).filter((line) => line.call.entry === "add");
    assert.equal(found.length, 1, JSON.stringify(found));
    const [line] = found;
    assert.equal(line.level, 30);
    assert.equal(line.plugin, "calc");
    assert.equal(line.call.outcome, "ok");
    assert.equal(line.call.run_id, res.body.run_id);
    assert.ok(line.call.ms > 0 && line.call.ms < 30_000, String(line.call.ms));
    assert.equal(line.msg, `call calc:add ok in ${line.call.ms} ms (run ${res.body.run_id})`);
  });

  test("a plugin's own Err is an info line with its code and message", async () => {
    const res = await t.trigger("calc", "refuse");
    assert.equal(res.body.error.code, "NOT_TODAY");
    const [line] = callLines(lines).filter((l) => l.call.entry === "refuse");
    assert.equal(line.level, 30);
    assert.equal(line.call.outcome, "NOT_TODAY");
    assert.match(line.msg, /^call calc:refuse NOT_TODAY in [\d.]+ ms \(run [0-9a-f-]{36}\): not today$/);
  });

  test("a timeout is a warn line", async () => {
    const res = await t.trigger("calc", "sleep", { ms: 3000 });
    assert.equal(res.body.error.code, "TIMEOUT");
    const [line] = callLines(lines).filter((l) => l.call.entry === "sleep");
    assert.equal(line.level, 40);
    assert.equal(line.call.outcome, "TIMEOUT");
    assert.ok(line.call.ms >= 400, String(line.call.ms));
    assert.equal(
      line.msg,
      `call calc:sleep TIMEOUT in ${line.call.ms} ms (run ${res.body.run_id}): entry 'calc:sleep' timed out after 0.5s`,
    );
  });

  test("a call its plugin's crash ends, and a call to a refused plugin, are warn lines", async () => {
    const crashed = await t.trigger("crashy", "exit");
    assert.equal(crashed.body.error.code, "PLUGIN_CRASHED", JSON.stringify(crashed.body));
    const [crashLine] = callLines(lines).filter((l) => l.plugin === "crashy" && l.call.entry === "exit");
    assert.equal(crashLine.level, 40);
    assert.equal(crashLine.call.outcome, "PLUGIN_CRASHED");
    const refused = await t.trigger("throws_at_load", "anything");
    const code = refused.body.error.code;
    const [refusedLine] = callLines(lines).filter((l) => l.plugin === "throws_at_load");
    assert.ok(refusedLine, `a line for the call answered ${code}`);
    assert.equal(refusedLine.level, 40);
    assert.equal(refusedLine.call.outcome, code);
  });

  test("a load failure is logged once, with the file and line it came from", async () => {
    const about = lines.filter((line) => line.includes("boom at load"));
    assert.equal(about.length, 1, about.join("\n"));
    const record = JSON.parse(about[0]);
    assert.equal(record.level, 40);
    assert.equal(record.msg, "plugin refused");
    assert.equal(record.reason, "importing index.ts failed: boom at load 42 (at index.ts:3:7)");
    const view = (await t.request("GET", "/plugins/throws_at_load")).body;
    assert.equal(view.status_reason, record.reason);
  });

  test("an entry's throw is logged with the plugin's own frames first, the framework's hidden", async () => {
    const res = await t.trigger("thrower", "go");
    assert.equal(res.body.error.message, "kaboom");
    let record: { err?: { stack?: string } } | undefined;
    for (let i = 0; i < 50 && !record; i += 1) {
      record = lines.map((line) => JSON.parse(line)).find((r) => r.plugin === "thrower" && r.err?.message === "kaboom");
      if (!record) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const stack = record?.err?.stack ?? "";
    const frames = stack.split("\n").filter((line) => /^\s+at /.test(line));
    assert.match(frames[0] ?? "", /at deep \(.*thrower[/\\]index\.ts:3:\d+\)/, stack);
    assert.match(frames[1] ?? "", /Thrower\.go \(.*index\.ts:8:\d+\)/, stack);
    assert.equal(frames.length, 2, stack);
    assert.doesNotMatch(stack, /packages[/\\](sdk|protocol)[/\\]|node:internal/);
    assert.match(stack, /… \d+ frames of neko-plugin and Node hidden \(NEKO_FULL_STACK=1 shows them\)/);
  });

  test("a plugin process is named neko-plugin: <id> in ps", async () => {
    const { pid, status } = (await t.request("GET", "/plugins/calc")).body;
    assert.equal(status, "running");
    // process.title rewrites the memory /proc/<pid>/cmdline is read from (and `ps` shows).
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0+$/, "");
    assert.equal(cmdline, "neko-plugin: calc");
  });
});

describe("the log line per call, turned off", () => {
  test("logCalls: false logs no call", async () => {
    const root = makeTempDir();
    writePlugin(root, { id: "calc", className: "CalcPlugin", code: calcPluginCode });
    const { t, lines } = await hostWithLines(root, false);
    try {
      assert.equal((await t.trigger("calc", "add", { a: 1 })).status, 200);
      assert.ok(
        lines.some((line) => line.includes('"plugin running"')),
        "the host does log",
      );
      assert.deepEqual(callLines(lines), []);
    } finally {
      await t.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
