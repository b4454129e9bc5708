import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { onBoundedLines } from "../../src/supervisor/bounded-lines.ts";

async function linesOf(chunks: string[], max: number): Promise<string[]> {
  const stream = new PassThrough();
  const lines: string[] = [];
  onBoundedLines(stream, (l) => lines.push(l), max);
  for (const c of chunks) stream.write(c);
  stream.end();
  await new Promise((r) => stream.on("end", r));
  return lines;
}

test("lines split across chunks come out whole; a last line without a newline too", async () => {
  assert.deepEqual(await linesOf(["ab", "c\nde", "f\r\ng"], 100), ["abc", "def", "g"]);
});

test("a line longer than the bound is cut once and its rest skipped, without buffering it", async () => {
  const lines = await linesOf(["x".repeat(30), "y".repeat(30), "z".repeat(30), "\nnext\n"], 40);
  assert.equal(lines.length, 2);
  assert.equal(lines[0], `${"x".repeat(30)}${"y".repeat(10)} … [line cut at 40 characters]`);
  assert.equal(lines[1], "next");
  const long = await linesOf([`${"a".repeat(50)}\nok\n`], 40);
  assert.deepEqual(long, [`${"a".repeat(40)} … [line cut at 40 characters]`, "ok"]);
});
