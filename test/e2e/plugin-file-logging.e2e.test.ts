/**
 * `this.logger.enableFileLogging({ level, maxBytes, keep })` / `disableFileLogging()` and `this.fileLogger` through a
 * real plugin process (issue 13, item 7): the plugin's own file under data/logs with its own level, rotated and
 * bounded; bad options refused naming the option.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Scribe extends NekoPluginBase {
  @pluginEntry({ id: "enable" })
  enable(options: any) {
    const r = this.logger.enableFileLogging(options);
    return Ok(r.ok ? r.value : { name: r.error.name, message: r.error.message, details: r.error.details });
  }

  @pluginEntry({ id: "disable" })
  disable() {
    return Ok({ was: this.logger.disableFileLogging(), now: this.logger.fileLogging });
  }

  @pluginEntry({ id: "write" })
  write({ tag }: { tag: string }) {
    this.logger.debug("debug " + tag, { tag });
    this.logger.info("info " + tag);
    this.fileLogger.warn("warn " + tag, { n: 1 });
    this.logger.exception("boom " + tag, new Error("it broke"));
    return Ok(this.fileLogger === this.logger);
  }

  @pluginEntry({ id: "explode" })
  explode() {
    throw new Error("kaboom");
  }

  @pluginEntry({ id: "reject_later" })
  rejectLater() {
    void Promise.reject(new Error("nobody caught me"));
    return Ok(true);
  }

  @pluginEntry({ id: "flood" })
  flood({ lines }: { lines: number }) {
    for (let i = 0; i < lines; i++) this.logger.info("flood line " + i + " " + "x".repeat(80));
    return Ok(lines);
  }
}
`;

type Line = { time: string; level: string; plugin: string; msg: string; [field: string]: unknown };
const readLines = (file: string): Line[] =>
  fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);

describe("the plugin's own log file", () => {
  let root: string;
  let t: TestHost;
  let dir: string;
  const call = async (entry: string, args: Record<string, unknown> = {}) => {
    const res = await t.trigger("scribe", entry, args);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.data;
  };

  before(async () => {
    root = makeTempDir();
    dir = writePlugin(root, { id: "scribe", className: "Scribe", code });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("nothing is written before it is enabled; then lines at its own level, debug included", async () => {
    const file = path.join(dir, "data", "logs", "scribe.ndjson");
    await call("write", { tag: "before" });
    assert.equal(fs.existsSync(file), false);

    const info = await call("enable", { level: "DEBUG" });
    assert.deepEqual(info, { path: file, level: "debug", maxBytes: 5 * 1024 * 1024, keep: 10 });
    assert.equal(await call("write", { tag: "one" }), true, "this.fileLogger is this.logger");
    const lines = readLines(file);
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg]),
      [
        ["debug", "debug one"],
        ["info", "info one"],
        ["warn", "warn one"],
        ["error", "boom one"],
      ],
    );
    for (const l of lines) {
      assert.equal(l.plugin, "scribe");
      assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    assert.equal(lines[0].tag, "one");
    assert.equal(lines[2].n, 1);
    assert.deepEqual(Object.keys(lines[3].err as object).sort(), ["message", "stack", "type"]);
    assert.equal((lines[3].err as { message: string }).message, "it broke");
    // The host's log is unchanged by it: its level is info, so the debug line is only in the file.
    const hostLog = (await t.request("GET", "/plugin/scribe/logs?search=one")).body.records.map(
      (r: { msg: string }) => r.msg,
    );
    assert.ok(hostLog.includes("info one"));
    assert.ok(!hostLog.includes("debug one"));

    // The original's level names; warn and above only now.
    assert.equal((await call("enable", { level: "WARNING" })).level, "warn");
    await call("write", { tag: "two" });
    assert.deepEqual(
      readLines(file)
        .slice(4)
        .map((l) => l.msg),
      ["warn two", "boom two"],
    );

    assert.deepEqual(await call("disable"), { was: true, now: null });
    await call("write", { tag: "three" });
    assert.ok(!readLines(file).some((l) => l.msg.endsWith("three")));
    assert.deepEqual(await call("disable"), { was: false, now: null });
  });

  test("the SDK's own lines about the plugin (a failing entry, an unhandled rejection) reach the file too", async () => {
    const file = path.join(dir, "data", "logs", "scribe.ndjson");
    fs.rmSync(path.join(dir, "data", "logs"), { recursive: true, force: true });
    await call("enable", { level: "warn" });
    assert.equal((await t.trigger("scribe", "explode", {})).status, 500);
    await call("reject_later");
    const lines = await waitFor(
      () => {
        const now = fs.existsSync(file) ? readLines(file) : [];
        return now.some((l) => l.msg === "unhandled rejection") ? now : undefined;
      },
      { what: "the unhandled rejection in the plugin's file", timeoutMs: 5000 },
    );
    const thrown = lines.find((l) => l.msg.startsWith("entry 'explode' threw"));
    assert.ok(thrown, JSON.stringify(lines));
    assert.equal(thrown.level, "error");
    assert.equal(thrown.plugin, "scribe");
    const rejection = lines.find((l) => l.msg === "unhandled rejection") as Line;
    assert.equal(rejection.level, "error");
    assert.equal((rejection.err as { message: string }).message, "nobody caught me");
    await call("disable");
  });

  test("rotated by size, at most keep old files, each within maxBytes", async () => {
    const logs = path.join(dir, "data", "logs");
    fs.rmSync(logs, { recursive: true, force: true });
    await call("enable", { maxBytes: 4096, keep: 2 });
    await call("flood", { lines: 300 });
    assert.deepEqual(fs.readdirSync(logs).sort(), ["scribe.ndjson", "scribe.ndjson.1", "scribe.ndjson.2"]);
    for (const name of fs.readdirSync(logs)) {
      assert.ok(fs.statSync(path.join(logs, name)).size <= 4096, name);
      for (const l of readLines(path.join(logs, name))) assert.match(l.msg, /^flood line \d+ x+$/);
    }
    const newest = readLines(path.join(logs, "scribe.ndjson"));
    assert.equal(newest.at(-1)?.msg.startsWith("flood line 299 "), true);
    const older = readLines(path.join(logs, "scribe.ndjson.1"));
    const lastOlder = Number(/flood line (\d+)/.exec(older.at(-1)?.msg ?? "")?.[1]);
    const firstNewest = Number(/flood line (\d+)/.exec(newest[0].msg)?.[1]);
    assert.equal(firstNewest, lastOlder + 1, "no line lost at a rotation");
    await call("disable");
  });

  test("bad options are refused naming the option; the file stays off", async () => {
    for (const [options, field, message] of [
      [
        { level: "loud" },
        "level",
        "enableFileLogging: level must be one of debug, info, warn, error (or WARNING, CRITICAL; any case); got loud",
      ],
      [
        { maxBytes: 10 },
        "maxBytes",
        "enableFileLogging: maxBytes must be a whole number from 1024 to 104857600; got 10",
      ],
      [{ keep: -1 }, "keep", "enableFileLogging: keep must be a whole number from 0 to 50; got -1"],
      [{ keep: 1.5 }, "keep", "enableFileLogging: keep must be a whole number from 0 to 50; got 1.5"],
    ] as const) {
      const refused = await call("enable", options);
      assert.deepEqual(refused, { name: "ValidationError", message, details: { field } });
    }
    assert.deepEqual(await call("disable"), { was: false, now: null });
  });
});
