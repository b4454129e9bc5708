import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { RotatingLogFile } from "../../src/logs/rotating-log-file.ts";

function tempFile(): { dir: string; file: string; files: () => string[]; read: (name: string) => string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-rotate-"));
  return {
    dir,
    file: path.join(dir, "x.ndjson"),
    files: () => fs.readdirSync(dir).sort(),
    read: (name) => fs.readFileSync(path.join(dir, name), "utf8").split("\n").slice(0, -1),
  };
}

test("a file is rotated before a line would take it past maxBytes, and only `keep` rotated files stay", async () => {
  const t = tempFile();
  const log = new RotatingLogFile({ path: t.file, maxBytes: 100, keep: 2 });
  // 10 bytes a line with its line feed: 10 lines a file.
  for (let i = 0; i < 45; i++) log.write(`line ${String(i).padStart(4, "0")}`);
  await log.close();
  assert.deepEqual(t.files(), ["x.ndjson", "x.ndjson.1", "x.ndjson.2"]);
  for (const name of t.files()) assert.ok(fs.statSync(path.join(t.dir, name)).size <= 100, name);
  assert.deepEqual(t.read("x.ndjson"), ["line 0040", "line 0041", "line 0042", "line 0043", "line 0044"]);
  assert.equal(t.read("x.ndjson.1")[0], "line 0030");
  assert.equal(t.read("x.ndjson.2")[0], "line 0020");
  assert.equal(log.dropped, 0);
  fs.rmSync(t.dir, { recursive: true });
});

test("a file left by an earlier host is continued, and rotated when its size is reached", async () => {
  const t = tempFile();
  fs.writeFileSync(t.file, "old line\n".repeat(10)); // 90 bytes
  const log = new RotatingLogFile({ path: t.file, maxBytes: 100, keep: 1 });
  log.write("new 0001");
  log.write("new 0002");
  await log.close();
  assert.deepEqual(t.files(), ["x.ndjson", "x.ndjson.1"]);
  assert.deepEqual(t.read("x.ndjson.1").slice(-2), ["old line", "new 0001"]);
  assert.deepEqual(t.read("x.ndjson"), ["new 0002"]);
  fs.rmSync(t.dir, { recursive: true });
});

test("past maxPendingBytes queued, lines are dropped and counted, and the file says how many", async () => {
  const t = tempFile();
  const log = new RotatingLogFile({
    path: t.file,
    maxBytes: 1 << 20,
    keep: 0,
    maxPendingBytes: 50,
    noteFields: { plugin: "p" },
  });
  // In one turn: the first line is taken by the write it starts, 5 more fit in the queue behind it, 14 are dropped.
  for (let i = 0; i < 20; i++) log.write(`line ${String(i).padStart(4, "0")}`);
  assert.equal(log.dropped, 14);
  await log.close();
  const lines = t.read("x.ndjson");
  assert.deepEqual(lines.slice(0, 6), ["line 0000", "line 0001", "line 0002", "line 0003", "line 0004", "line 0005"]);
  assert.equal(lines.length, 7);
  const note = JSON.parse(lines[6] as string);
  assert.deepEqual(
    { ...note, time: 0 },
    {
      time: 0,
      level: "warn",
      plugin: "p",
      msg: "14 log lines were dropped: the log file could not keep up",
      dropped: 14,
    },
  );
  fs.rmSync(t.dir, { recursive: true });
});

test("keep = 0: the full file is deleted, never renamed; a line longer than a file goes alone into an empty one", async () => {
  const t = tempFile();
  const log = new RotatingLogFile({ path: t.file, maxBytes: 20, keep: 0 });
  log.write("a".repeat(10));
  log.write("b".repeat(30));
  log.write("c".repeat(5));
  await log.close();
  assert.deepEqual(t.files(), ["x.ndjson"]);
  assert.deepEqual(t.read("x.ndjson"), ["c".repeat(5)]);
  fs.rmSync(t.dir, { recursive: true });
});

test("a file that cannot be written: its lines are dropped and counted, the error reported once per failure", async () => {
  const t = tempFile();
  fs.writeFileSync(path.join(t.dir, "blocker"), "");
  const errors: string[] = [];
  const log = new RotatingLogFile({
    path: path.join(t.dir, "blocker", "x.ndjson"),
    maxBytes: 100,
    keep: 1,
    onError: (e) => errors.push(e.message),
  });
  log.write("one");
  log.write("two");
  await log.flushed();
  assert.equal(log.dropped, 2);
  assert.equal(errors.length, 1);
  await log.close();
  fs.rmSync(t.dir, { recursive: true });
});
