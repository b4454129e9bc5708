/**
 * The rotated NDJSON log files over real plugin processes: every line is a JSON object with time, level, plugin tag
 * and message; a plugin that floods stdout leaves its file and the host's file rotated at the configured size with the
 * configured count kept; files in a chosen folder outlive the host, the default folder (in the run folder) does not.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { after, before, describe, test } from "node:test";
import { createHostLogger, HostLogSink } from "@neko/host";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const FLOOD_LINES = 20_000;
const MAX_BYTES = 256 * 1024;
const KEEP = 2;

const flooderCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Flooder extends NekoPluginBase {
  @pluginEntry({ id: "speak" })
  speak() {
    this.logger.warn("disk almost full", { percent: 93 });
    console.log("a plain console line");
    return Ok(true);
  }

  @pluginEntry({ id: "flood" })
  flood({ lines }: { lines: number }) {
    const pad = "x".repeat(100);
    for (let i = 0; i < lines; i++) console.log(\`flood line \${i} \${pad}\`);
    return Ok(lines);
  }
}
`;

type Line = { time: string; level: string; msg: string; plugin?: string; [field: string]: unknown };

function readLines(file: string): Line[] {
  const text = fs.readFileSync(file, "utf8");
  assert.ok(text.endsWith("\n"), `${file} ends with a line feed`);
  return text
    .split("\n")
    .slice(0, -1)
    .map((line, i) => {
      try {
        return JSON.parse(line) as Line;
      } catch {
        return assert.fail(`${path.basename(file)} line ${i + 1} is not JSON: ${line.slice(0, 200)}`);
      }
    });
}

function assertShape(line: Line, where: string): void {
  assert.equal(typeof line.msg, "string", `${where}: msg`);
  assert.ok(["trace", "debug", "info", "warn", "error", "fatal"].includes(line.level), `${where}: level ${line.level}`);
  assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `${where}: time`);
}

/** The log's files, newest first: `name`, `name.1`, …; asserts there are no others. */
function rotatedSet(dir: string, name: string): string[] {
  const found = fs.readdirSync(dir).filter((f) => f === name || f.startsWith(`${name}.`));
  const expected = [name, ...Array.from({ length: found.length - 1 }, (_, i) => `${name}.${i + 1}`)];
  assert.deepEqual([...found].sort(), [...expected].sort(), `${name}: only the current file and numbered ones`);
  return expected.map((f) => path.join(dir, f));
}

describe("log files", () => {
  let root: string;
  let logDir: string;
  let t: TestHost;
  const discard = { write: () => true };
  const flush = () => t.host.logFiles?.flushed();

  before(async () => {
    root = makeTempDir();
    logDir = makeTempDir("neko-logs-");
    writePlugin(root, { id: "flooder", className: "Flooder", code: flooderCode });
    const hostLines = new HostLogSink();
    t = await startTestHost({
      roots: [root],
      logger: createHostLogger({ pretty: false, sink: hostLines, destination: discard }),
      logFiles: { dir: logDir, maxBytes: MAX_BYTES, keep: KEEP, hostLines },
    });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(logDir, { recursive: true, force: true });
  });

  test("the plugin's lines and the host's lines about it, one JSON object each, tagged with the plugin", async () => {
    assert.equal((await t.trigger("flooder", "speak")).status, 200);
    const file = path.join(logDir, "plugins", "flooder.ndjson");
    const lines = await waitFor(
      async () => {
        await flush();
        const read = fs.existsSync(file) ? readLines(file) : [];
        return read.some((l) => l.msg === "a plain console line") ? read : undefined;
      },
      { what: "the plugin's lines in its file" },
    );
    for (const [i, l] of lines.entries()) {
      assertShape(l, `flooder.ndjson:${i + 1}`);
      assert.equal(l.plugin, "flooder");
    }
    const warned = lines.find((l) => l.msg === "disk almost full");
    assert.deepEqual(warned && { level: warned.level, percent: warned.percent, pid: typeof warned.pid }, {
      level: "warn",
      percent: 93,
      pid: "number",
    });
    assert.ok(lines.some((l) => l.source === "host" && l.state === "running" && l.msg === "plugin running"));

    const host = readLines(path.join(logDir, "host.ndjson"));
    for (const [i, l] of host.entries()) assertShape(l, `host.ndjson:${i + 1}`);
    assert.ok(
      host.some((l) => l.msg === "log files" && l.dir === logDir),
      "the host says where its log files are",
    );
    assert.ok(host.some((l) => l.plugin === "flooder" && l.msg === "plugin running"));
    assert.ok(host.some((l) => l.plugin === "flooder" && l.msg === "disk almost full" && l.level === "warn"));
  });

  test("a stdout flood: both files rotate at the size given, keep the count given, and every line stays JSON", async (ctx) => {
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const started = performance.now();
    assert.equal((await t.trigger("flooder", "flood", { lines: FLOOD_LINES })).body.data, FLOOD_LINES);
    // Polled through the host's log buffer, which costs nothing: reading the files here would be lag of our own.
    await waitFor(
      () => t.host.logs.read("flooder", { lines: 1 })?.records[0]?.msg.startsWith(`flood line ${FLOOD_LINES - 1} `),
      { what: "the flood's last line at the host", timeoutMs: 60_000 },
    );
    await flush();
    lag.disable();
    // A measurement for docs/logging.md, not a test of speed.
    ctx.diagnostic(
      `${FLOOD_LINES} lines in ${Math.round(performance.now() - started)} ms; host event loop delay ` +
        `p50 ${(lag.percentile(50) / 1e6 - 10).toFixed(1)} ms, p99 ${(lag.percentile(99) / 1e6 - 10).toFixed(1)} ms, ` +
        `max ${(lag.max / 1e6 - 10).toFixed(1)} ms; lines dropped: ${t.host.logFiles?.linesDropped}`,
    );
    // The newest line is the flood's last, or the note that lines were dropped (written after them).
    const newest = readLines(path.join(logDir, "plugins", "flooder.ndjson")).at(-1);
    assert.ok(
      newest?.msg.startsWith(`flood line ${FLOOD_LINES - 1} `) || typeof newest?.dropped === "number",
      JSON.stringify(newest),
    );

    for (const [dir, name] of [
      [path.join(logDir, "plugins"), "flooder.ndjson"],
      [logDir, "host.ndjson"],
    ] as const) {
      const files = rotatedSet(dir, name);
      assert.equal(files.length, KEEP + 1, `${name}: the flood filled them all, and no more are kept`);
      for (const file of files) {
        const size = fs.statSync(file).size;
        assert.ok(size <= MAX_BYTES, `${path.basename(file)} is ${size} bytes, over ${MAX_BYTES}`);
        for (const [i, l] of readLines(file).entries()) assertShape(l, `${path.basename(file)}:${i + 1}`);
      }
      // Rotated files are full: each was rotated only when the next line did not fit.
      for (const file of files.slice(1)) assert.ok(fs.statSync(file).size > MAX_BYTES - 1024, `${file} is nearly full`);
    }
    const pluginLines = rotatedSet(path.join(logDir, "plugins"), "flooder.ndjson").flatMap(readLines);
    assert.ok(pluginLines.every((l) => l.plugin === "flooder"));
    // The newest lines are kept, in order.
    const numbers = pluginLines
      .map((l) => /^flood line (\d+) /.exec(l.msg)?.[1])
      .filter((n) => n !== undefined)
      .map(Number);
    assert.ok(numbers.length > 1000, `${numbers.length} flood lines kept`);
  });

  test("files in the chosen folder outlive the host; the default folder, in the run folder, goes with it", async () => {
    const empty = makeTempDir();
    try {
      const other = await startTestHost({ roots: [empty] });
      const defaultDir = other.host.logFiles?.dir as string;
      assert.ok(defaultDir.includes(`${path.sep}neko-plugin-`) && defaultDir.endsWith(`${path.sep}logs`), defaultDir);
      await other.host.logFiles?.flushed();
      await other.close();
      assert.equal(fs.existsSync(defaultDir), false, "removed with the run folder");
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }

    await t.close();
    assert.ok(fs.statSync(path.join(logDir, "host.ndjson")).size > 0, "kept after the host stopped");
    assert.ok(fs.existsSync(path.join(logDir, "plugins", "flooder.ndjson")));
  });
});
