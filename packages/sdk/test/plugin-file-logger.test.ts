import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { withFileLogging } from "../src/plugin-file-logger.ts";
import type { PluginLogger } from "../src/plugin-logger.ts";

const quiet: PluginLogger = { debug() {}, info() {}, warn() {}, error() {}, exception() {} };

function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "neko-file-logger-"));
}

test("a field named time, level, plugin or msg does not replace the line's own", () => {
  const dataDir = tempDataDir();
  try {
    const logger = withFileLogging(quiet, { pluginId: "p", dataDir });
    assert.equal(logger.enableFileLogging({ level: "info" }).ok, true);
    logger.info("real", { time: "1999", level: "debug", plugin: "evil", msg: "forged", extra: 1 });
    const lines = fs
      .readFileSync(path.join(dataDir, "logs", "p.ndjson"), "utf8")
      .trim()
      .split("\n");
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0] as string);
    assert.equal(line.level, "info");
    assert.equal(line.plugin, "p");
    assert.equal(line.msg, "real");
    assert.notEqual(line.time, "1999");
    assert.match(line.time, /^\d{4}-\d\d-\d\dT/);
    assert.equal(line.extra, 1);
    logger.disableFileLogging();
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test("enabling with a lower keep deletes the rotated files above it", () => {
  const dataDir = tempDataDir();
  try {
    const logs = path.join(dataDir, "logs");
    fs.mkdirSync(logs);
    for (let i = 1; i <= 6; i++) fs.writeFileSync(path.join(logs, `p.ndjson.${i}`), `old ${i}\n`);
    const logger = withFileLogging(quiet, { pluginId: "p", dataDir });
    assert.equal(logger.enableFileLogging({ keep: 2 }).ok, true);
    assert.deepEqual(fs.readdirSync(logs).sort(), ["p.ndjson", "p.ndjson.1", "p.ndjson.2"]);
    logger.disableFileLogging();
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test("a rotation that fails turns the file off once, with a warning, and the logger goes on", () => {
  const dataDir = tempDataDir();
  const warnings: string[] = [];
  try {
    const logger = withFileLogging({ ...quiet, warn: (m) => warnings.push(m) }, { pluginId: "p", dataDir });
    assert.equal(logger.enableFileLogging({ maxBytes: 1024, keep: 1 }).ok, true);
    // `.1` is a folder with something in it: the rename onto it fails.
    fs.mkdirSync(path.join(dataDir, "logs", "p.ndjson.1", "x"), { recursive: true });
    for (let i = 0; i < 40; i++) logger.info(`line ${i} ${"z".repeat(40)}`);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /^the plugin's log file was turned off: /);
    assert.equal(logger.fileLogging, null);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
