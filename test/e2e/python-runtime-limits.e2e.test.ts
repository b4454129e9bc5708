/**
 * The Python runtime under load (docs/python-plugins.md#sync-handlers-and-the-thread-pool), with the real plugin
 * test/python-plugins/py_limits: a sync around hook with more concurrent calls than worker threads does not deadlock
 * the pool, and sync handlers stuck past their timeout end in an exit the host's restart policy answers, not in a
 * plugin that answers pings and nothing else.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import type { LogRecord } from "@neko/host";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { PYTHON_SKIP } from "../support/python.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const LIMITS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../python-plugins/py_limits");

describe("the Python runtime's thread pool", { skip: PYTHON_SKIP }, () => {
  let root: string;
  let t: TestHost;
  const logs: LogRecord[] = [];
  const pidOf = () => t.host.getPlugin("py_limits")?.pid as number;

  before(async () => {
    root = makeTempDir();
    fs.cpSync(LIMITS, path.join(root, "py_limits"), { recursive: true });
    // A store file planted as a symbolic link to a file outside the plugin's folder.
    writePlugin(root, {
      id: "py_planted",
      manifest: `[plugin]\nid = "py_planted"\nentry = "plugins.py_planted:Planted"\n`,
      files: {
        "__init__.py": [
          "from plugin.sdk.plugin import NekoPluginBase, neko_plugin, plugin_entry, Ok, SdkError",
          "@neko_plugin",
          "class Planted(NekoPluginBase):",
          '    @plugin_entry(id="write")',
          "    def write(self, **_):",
          "        try:",
          '            self.store.set("k", "v")',
          '            return Ok("stored")',
          "        except SdkError as error:",
          "            return Ok([error.code, str(error)])",
        ].join("\n"),
      },
    });
    fs.mkdirSync(path.join(root, "py_planted", "data"));
    fs.symlinkSync(path.join(root, "outside.sqlite"), path.join(root, "py_planted", "data", "store.sqlite"));
    // An entry whose metadata msgpack cannot carry: the hello cannot be packed.
    writePlugin(root, {
      id: "py_badmeta",
      manifest: `[plugin]\nid = "py_badmeta"\nentry = "plugins.py_badmeta:BadMeta"\n`,
      files: {
        "__init__.py": [
          "from plugin.sdk.plugin import NekoPluginBase, neko_plugin, plugin_entry, Ok",
          "@neko_plugin",
          "class BadMeta(NekoPluginBase):",
          '    @plugin_entry(id="x", metadata={"f": object()})',
          "    def x(self, **_):",
          "        return Ok(1)",
        ].join("\n"),
      },
    });
    t = await startTestHost(
      {
        roots: [root],
        heartbeatIntervalMs: 500,
        restartPolicy: { baseDelayMs: 100, maxDelayMs: 400, maxCrashes: 10, windowMs: 60_000 },
      },
      { onLog: (pluginId, record) => pluginId === "py_limits" && logs.push(record) },
    );
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("40 concurrent calls through a sync around hook all finish: proceed() runs the sync entry in its own thread", async () => {
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 40 }, () => t.trigger("py_limits", "hooked")));
    assert.deepEqual(
      answers.map((a) => [a.status, a.body?.data ?? a.body?.error?.code]),
      Array.from({ length: 40 }, () => [200, { ran: "entry" }]),
    );
    assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
    const quick = await t.trigger("py_limits", "quick");
    assert.equal(quick.status, 200);
  });

  test("a sync around hook over an async entry: proceed() waits on the loop, 40 calls at once all finish", async () => {
    const answers = await Promise.all(Array.from({ length: 40 }, () => t.trigger("py_limits", "hooked_async")));
    assert.deepEqual(
      answers.map((a) => [a.status, a.body?.data ?? a.body?.error?.code]),
      Array.from({ length: 40 }, () => [200, { ran: "async entry" }]),
    );
  });

  test("an entry whose metadata cannot be sent: refused naming the entry and field, not restarted", async () => {
    const detail = (await t.request("GET", "/plugins/py_badmeta")).body;
    assert.equal(detail.status, "refused", detail.status_reason);
    assert.match(detail.status_reason, /^entry 'x': its metadata cannot be sent to the host: /);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const again = (await t.request("GET", "/plugins/py_badmeta")).body;
    assert.deepEqual([again.status, again.history.length], ["refused", detail.history.length]);
    const start = await t.request("POST", "/plugin/py_badmeta/start");
    assert.equal(start.body.error.code, "PLUGIN_LOAD_FAILED");
    assert.match(start.body.error.message, /entry 'x': its metadata cannot be sent to the host/);
  });

  test("bus.emit of a payload msgpack cannot carry answers Err(VALIDATION_ERROR), as call_entry does", async () => {
    const emit = await t.trigger("py_limits", "emit_unsendable");
    assert.equal(emit.status, 200, JSON.stringify(emit.body));
    assert.deepEqual(emit.body.data, {
      object: [
        "VALIDATION_ERROR",
        "bus.emit: the payload cannot be sent to the host: object cannot be sent to the host",
      ],
      big_int: ["VALIDATION_ERROR", "bus.emit: the payload cannot be sent to the host: int cannot be sent to the host"],
    });
    const call = await t.trigger("py_limits", "call_unsendable");
    assert.deepEqual(call.body.data, ["VALIDATION_ERROR", "plugins.call: int cannot be sent to the host"]);
  });

  test("a log format that fails (an attribute lookup) still logs the line; the entry is not failed", async () => {
    const res = await t.trigger("py_limits", "log_bad_format");
    assert.deepEqual([res.status, res.body.data], [200, "logged"]);
    await waitFor(() => logs.some((r) => r.msg === "value {0.missing_attribute} 1"), { what: "the log line" });
  });

  test("a store file planted as a symbolic link is not opened; nothing is written through it", async () => {
    const res = await t.trigger("py_planted", "write");
    assert.deepEqual(res.body.data, [
      "STORE_ERROR",
      "store: store.sqlite in data/ is a symbolic link; it is not opened",
    ]);
    assert.equal(fs.existsSync(path.join(root, "outside.sqlite")), false);
  });

  test("a store value past 16 MiB: VALIDATION_ERROR with details { key, bytes, limit }; trusted_schema off", async () => {
    const res = await t.trigger("py_limits", "store_limits");
    assert.deepEqual(res.body.data, {
      oversize: [
        "VALIDATION_ERROR",
        "store: the value for key 'big' is 16777218 bytes of JSON; the limit is 16777216",
        { key: "big", bytes: 16777218, limit: 16777216 },
      ],
      trusted_schema: 0,
    });
  });

  test("sync handlers stuck past their timeout: at 28 of 32 threads the process exits with code 70 and restarts", async () => {
    const pid = pidOf();
    const stuck = await Promise.all(Array.from({ length: 27 }, () => t.trigger("py_limits", "stuck")));
    assert.deepEqual(new Set(stuck.map((a) => a.body?.error?.code)), new Set(["TIMEOUT"]));
    assert.equal(pidOf(), pid, "27 overdue threads: still the same process");
    assert.equal((await t.trigger("py_limits", "quick")).status, 200);
    const last = await t.trigger("py_limits", "stuck");
    assert.equal(last.body?.error?.code, "TIMEOUT");
    await waitFor(() => t.host.getPlugin("py_limits")?.status === "running" && pidOf() !== pid, {
      what: "a restart after the exit",
    });
    assert.equal(t.host.getPlugin("py_limits")?.last_exit?.code, 70);
    const exitLog = logs.find((r) =>
      /28 of 32 worker threads still run handlers past their deadline/.test(String(r.msg)),
    );
    assert.ok(exitLog, "the plugin said why it exits");
    assert.equal(exitLog.level, "error");
    const quick = await t.trigger("py_limits", "quick");
    assert.equal(quick.status, 200);
  });
});

describe("finding the interpreter: a probe must run to the end and print its marker", { skip: PYTHON_SKIP }, () => {
  let root: string;
  let t: TestHost | undefined;

  before(() => {
    root = makeTempDir();
    fs.cpSync(LIMITS, path.join(root, "py_limits"), { recursive: true });
    // Exits 0 on the probe's SIGTERM: a timed-out probe that looked like a success.
    fs.writeFileSync(path.join(root, "hangs"), "#!/bin/sh\ntrap 'exit 0' TERM\nwhile :; do sleep 0.1; done\n", {
      mode: 0o755,
    });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  async function reasonWith(python: string): Promise<string> {
    const saved = process.env.NEKO_PYTHON;
    process.env.NEKO_PYTHON = python;
    try {
      t = await startTestHost({ roots: [root] });
    } finally {
      if (saved === undefined) delete process.env.NEKO_PYTHON;
      else process.env.NEKO_PYTHON = saved;
    }
    const detail = (await t.request("GET", "/plugins/py_limits")).body;
    await t.close();
    t = undefined;
    assert.equal(detail.status, "refused", detail.status_reason);
    assert.ok(detail.status_reason.startsWith("Python plugins need python3 (3.11 or newer)"), detail.status_reason);
    return detail.status_reason;
  }

  test("NEKO_PYTHON=/bin/true exits 0 without the marker: refused with the requirement", async () => {
    assert.match(
      await reasonWith("/bin/true"),
      / \(\/bin\/true: it exited 0 without printing "NEKO_PY_OK <executable> <version>": not a Python that ran the probe\)$/,
    );
  });

  test("a relative NEKO_PYTHON is resolved against the host's working directory", async () => {
    assert.match(await reasonWith(path.relative(process.cwd(), "/bin/true")), / \(\/bin\/true: it exited 0 without/);
  });

  test("an interpreter that hangs: killed after the probe timeout and refused, even if it would exit 0", async () => {
    const started = Date.now();
    assert.match(await reasonWith(path.join(root, "hangs")), /hangs: its probe did not finish within 10 s\)$/);
    assert.ok(Date.now() - started < 20_000);
  });
});
