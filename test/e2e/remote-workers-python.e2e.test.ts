/**
 * Python plugins on remote workers (docs/workers.md, docs/python-plugins.md): a real `neko-plugin worker` process
 * launches a Python plugin with the same launcher and interpreter probe as a host, and the plugin is called through
 * the main server's HTTP API, calls a plugin of the host's, and is validated as a local one is. A worker whose machine
 * has no usable Python says why, and the host refuses the plugin with that reason, naming the worker.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type CurveKeyPair, makeKeyPair, writeKeyFile } from "@neko/host";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { PYTHON_SKIP } from "../support/python.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../packages/cli/bin/neko-plugin.js");

const nearCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok, z } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Near extends NekoPluginBase {
  @pluginEntry({ id: "double", params: z.object({ n: z.number() }) })
  double({ n }: { n: number }) {
    return Ok(n * 2);
  }
}
`;

function writePythonPlugin(root: string, id: string): void {
  writePlugin(root, {
    id,
    manifest: `[plugin]\nid = "${id}"\nentry = "plugin.plugins.${id}:FarPlugin"\n`,
    files: {
      "__init__.py": [
        "import os",
        "",
        "from plugin.sdk.plugin import NekoPluginBase, Ok, Err, neko_plugin, plugin_entry",
        "",
        "",
        "@neko_plugin",
        "class FarPlugin(NekoPluginBase):",
        '    @plugin_entry(id="where")',
        "    def where(self, **_):",
        '        return Ok({"pid": os.getpid(), "ppid": os.getppid(), "language": "python"})',
        "",
        '    @plugin_entry(id="ask_near", input_schema={"type": "object", "properties": {"n": {"type": "number"}},',
        '                  "required": ["n"]})',
        "    async def ask_near(self, n, **_):",
        '        result = await self.plugins.call_entry("near:double", {"n": n})',
        '        return Ok({"doubled": result.value}) if isinstance(result, Ok) else Err(result.error)',
        "",
      ].join("\n"),
    },
  });
}

describe("Python plugins on a remote worker", { skip: PYTHON_SKIP }, () => {
  let dir: string;
  let hostKeys: CurveKeyPair;
  let workerKeyFile: string;
  let t: TestHost;
  let endpoint: string;
  const workers = new Set<ChildProcess>();

  function startWorker(name: string, roots: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
    const child = spawn(
      process.execPath,
      [
        CLI,
        "worker",
        "--connect",
        endpoint,
        "--plugins-dir",
        roots,
        "--server-key",
        hostKeys.publicKey,
        "--key-file",
        workerKeyFile,
        "--name",
        name,
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, NEKO_LOG_LEVEL: "warn", TMPDIR: path.join(dir, "tmp"), ...env },
      },
    );
    child.stdout?.resume();
    child.stderr?.resume();
    workers.add(child);
    child.on("exit", () => workers.delete(child));
    return child;
  }

  async function stopWorker(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }

  before(async () => {
    dir = makeTempDir("neko-workers-py-");
    fs.mkdirSync(path.join(dir, "tmp"));
    hostKeys = makeKeyPair();
    const workerKeys = makeKeyPair();
    workerKeyFile = path.join(dir, "worker.key");
    writeKeyFile(workerKeyFile, workerKeys);
    writePlugin(path.join(dir, "local"), { id: "near", className: "Near", code: nearCode });
    writePythonPlugin(path.join(dir, "remote"), "py_far");
    writePythonPlugin(path.join(dir, "remote-no-python"), "py_lost");
    writePythonPlugin(path.join(dir, "remote-notdir"), "py_notdir");
    t = await startTestHost({
      roots: [path.join(dir, "local")],
      dataDir: path.join(dir, "data"),
      workers: {
        endpoint: "tcp://127.0.0.1:0",
        keys: hostKeys,
        authorizedKeys: [workerKeys.publicKey],
        timeoutMs: 3000,
      },
    });
    endpoint = t.host.info().worker_endpoint as string;
  });

  after(async () => {
    await Promise.all([...workers].map((w) => stopWorker(w)));
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the worker runs the Python plugin: called over the main server's HTTP, it calls the host's plugins", async () => {
    const worker = startWorker("py-box", path.join(dir, "remote"));
    await waitFor(() => t.host.getPlugin("py_far")?.status === "running", {
      what: "py_far running on the worker",
      timeoutMs: 30_000,
    });
    const listed = (await t.request("GET", "/plugins/py_far")).body;
    assert.equal(listed.machine, "py-box");

    const where = await t.trigger("py_far", "where");
    assert.equal(where.status, 200, JSON.stringify(where.body));
    assert.equal(where.body.data.language, "python");
    assert.equal(where.body.data.ppid, worker.pid, "the Python process is the worker's child");
    assert.equal(listed.pid, where.body.data.pid);

    const asked = await t.trigger("py_far", "ask_near", { n: 21 });
    assert.equal(asked.status, 200, JSON.stringify(asked.body));
    assert.deepEqual(asked.body.data, { doubled: 42 });

    const bad = await t.trigger("py_far", "ask_near", { n: "x" });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.equal(bad.body.error.code, "VALIDATION_ERROR");
    assert.deepEqual(bad.body.error.details.issues, [{ field: "n", message: "must be number" }]);

    await stopWorker(worker);
    await waitFor(() => !isAlive(where.body.data.pid), { what: "the Python process to end with its worker" });
  });

  test("a worker without a usable Python: the host refuses the plugin with the worker's reason", async () => {
    startWorker("no-python", path.join(dir, "remote-no-python"), { NEKO_PYTHON: "/bin/true" });
    await waitFor(() => t.host.getPlugin("py_lost")?.status === "refused", {
      what: "py_lost refused",
      timeoutMs: 30_000,
    });
    const reason =
      "on worker 'no-python': Python plugins need python3 (3.11 or newer) with python3-zmq, python3-msgpack and " +
      "python3-jsonschema (apt-get install python3-zmq python3-msgpack python3-jsonschema), or NEKO_PYTHON naming " +
      'such an interpreter (/bin/true: it exited 0 without printing "NEKO_PY_OK <executable> <version>": not a ' +
      "Python that ran the probe)";
    const detail = (await t.request("GET", "/plugins/py_lost")).body;
    assert.equal(detail.machine, "no-python");
    assert.equal(detail.status_reason, reason);

    const start = await t.request("POST", "/plugin/py_lost/start");
    assert.equal(start.status, 502, JSON.stringify(start.body));
    assert.equal(start.body.error.code, "PLUGIN_LOAD_FAILED");
    assert.equal(start.body.error.message, reason);
    assert.equal((await t.trigger("near", "double", { n: 2 })).body.data, 4, "the host's own plugins run on");
  });

  test("a worker whose NEKO_PYTHON cannot be spawned (ENOTDIR): refused with the reason, the worker lives on", async () => {
    const worker = startWorker("notdir-box", path.join(dir, "remote-notdir"), { NEKO_PYTHON: "/etc/passwd/python3" });
    await waitFor(() => t.host.getPlugin("py_notdir")?.status === "refused", {
      what: "py_notdir refused",
      timeoutMs: 30_000,
    });
    const reason =
      "on worker 'notdir-box': Python plugins need python3 (3.11 or newer) with python3-zmq, python3-msgpack and " +
      "python3-jsonschema (apt-get install python3-zmq python3-msgpack python3-jsonschema), or NEKO_PYTHON naming " +
      "such an interpreter (/etc/passwd/python3: it cannot be started: spawn ENOTDIR (a part of its path is a file, " +
      "not a folder))";
    assert.equal((await t.request("GET", "/plugins/py_notdir")).body.status_reason, reason);
    const start = await t.request("POST", "/plugin/py_notdir/start");
    assert.equal(start.status, 502, JSON.stringify(start.body));
    assert.equal(start.body.error.message, reason);
    assert.equal(worker.exitCode, null, "the worker did not crash");
    assert.equal(worker.signalCode, null);
    await stopWorker(worker);
  });
});
