/**
 * ConfigSchemaStore: the last configSchema each plugin sent, kept on disk so a stopped plugin's writes are checked
 * across host restarts; a plugin that sends none any more has its file removed; a kept file that is damaged or out of
 * bounds is ignored with a warning, never trusted.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { ConfigSchemaStore } from "../../src/config/config-schema-store.ts";

const schema = { type: "object", properties: { port: { type: "integer", maximum: 65535 } } };

describe("ConfigSchemaStore", () => {
  let dir: string;
  let problems: string[];
  const store = () => new ConfigSchemaStore(dir, (id, problem) => problems.push(`${id}: ${problem}`));

  beforeEach(() => {
    dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "neko-schemas-")), "config-schemas");
    problems = [];
  });
  afterEach(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

  test("a recorded schema checks configurations, and a new store (the next host) reads it back", () => {
    const first = store();
    const known = first.record("p", schema);
    assert.equal(known.validate({ port: 70000 }).ok, false);
    assert.equal(known.validate({ plugin: { id: "p" }, port: 80 }).ok, true);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "p.json"), "utf8")), schema);
    const next = store().get("p");
    assert.deepEqual(next?.json, schema);
    assert.equal(next?.validate({ port: 70000 }).ok, false);
    assert.equal(store().get("other"), undefined);
    assert.deepEqual(problems, []);
  });

  test("forget removes the kept file; release only drops what is in memory", () => {
    const s = store();
    s.record("p", schema);
    s.release("p");
    assert.equal(s.size, 0);
    assert.deepEqual(s.get("p")?.json, schema, "read back from disk");
    s.forget("p");
    assert.equal(s.get("p"), undefined);
    assert.equal(fs.existsSync(path.join(dir, "p.json")), false);
  });

  test("a damaged or unbounded kept file is ignored with a warning", () => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "torn.json"), "{ not json");
    fs.writeFileSync(path.join(dir, "odd.json"), JSON.stringify({ type: "no-such-type" }));
    const s = store();
    assert.equal(s.get("torn"), undefined);
    assert.equal(s.get("odd"), undefined);
    assert.equal(problems.length, 2);
    assert.match(problems[0], /^torn: its kept configSchema cannot be read/);
    assert.match(problems[1], /^odd: its kept configSchema is not a valid JSON Schema/);
  });

  test("a kept file that is a FIFO, a link or too large is not read: the host cannot be made to hang on it", () => {
    fs.mkdirSync(dir, { recursive: true });
    const outside = path.join(path.dirname(dir), "outside.json");
    fs.writeFileSync(outside, JSON.stringify(schema));
    fs.symlinkSync(outside, path.join(dir, "linked.json"));
    fs.writeFileSync(path.join(dir, "big.json"), JSON.stringify({ description: "x".repeat(70 * 1024) }));
    execFileSync("mkfifo", [path.join(dir, "fifo.json")]);
    const s = store();
    for (const id of ["linked", "big", "fifo"]) assert.equal(s.get(id), undefined, id);
    assert.equal(problems.length, 3, problems.join("\n"));
    assert.match(problems.join("\n"), /fifo: .*not a regular file/);
    assert.match(problems.join("\n"), /big: .*larger than 65536 bytes/);
  });
});
