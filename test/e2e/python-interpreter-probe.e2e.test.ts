/**
 * Finding the Python interpreter does not hold the host (docs/python-plugins.md#requirements): the probe runs as a
 * child process the host waits for asynchronously, one at a time. `NEKO_PYTHON` names a fake interpreter (a shell
 * script) that appends a line to a file each time it is probed and sleeps before it hands over to the real Python, so
 * the test sees how long the probe takes, how many there were, and what the host did meanwhile.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { findPythonInterpreter } from "@neko/host";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { PYTHON, PYTHON_SKIP } from "../support/python.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const tsEchoCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class TsEcho extends NekoPluginBase {
  @pluginEntry({ id: "echo" })
  echo({ text }: { text: string }) {
    return Ok({ text });
  }
}
`;

/** A Python plugin the host does not start by itself: the test starts it, and so runs the probe, when it wants. */
function writePythonPlugin(root: string, id: string): void {
  writePlugin(root, {
    id,
    manifest: `[plugin]\nid = "${id}"\nentry = "plugin.plugins.${id}:Plugin"\n\n[plugin_runtime]\nauto_start = false\n`,
    files: {
      "__init__.py": [
        "from plugin.sdk.plugin import NekoPluginBase, Ok, neko_plugin, plugin_entry",
        "",
        "",
        "@neko_plugin",
        "class Plugin(NekoPluginBase):",
        '    @plugin_entry(id="whoami")',
        "    def whoami(self, **_):",
        `        return Ok({"plugin": "${id}"})`,
        "",
      ].join("\n"),
    },
  });
}

/** NEKO_PYTHON as the host reads it when it is made (the launcher takes its candidates then). */
async function hostWithPython(root: string, python: string): Promise<TestHost> {
  const saved = process.env.NEKO_PYTHON;
  process.env.NEKO_PYTHON = python;
  try {
    return await startTestHost({ roots: [root] });
  } finally {
    if (saved === undefined) delete process.env.NEKO_PYTHON;
    else process.env.NEKO_PYTHON = saved;
  }
}

function probes(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

describe("the interpreter probe runs without blocking the host", { skip: PYTHON_SKIP }, () => {
  let root: string;
  let t: TestHost | undefined;

  before(() => {
    root = makeTempDir();
    writePlugin(root, { id: "ts_echo", className: "TsEcho", code: tsEchoCode });
    writePythonPlugin(root, "py_one");
    writePythonPlugin(root, "py_two");
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("while a 2 s probe runs, HTTP and a TypeScript plugin answer at once; two starts share one probe", async () => {
    const count = path.join(root, "probes.log");
    const slow = path.join(root, "slow-python");
    // `slept` appears when the probe's wait is over: what the host answered before it, it answered during the probe
    // (the host runs in this process, so a blocked event loop would hold the test too, and `slept` would be there).
    const slept = path.join(root, "probe-slept");
    fs.writeFileSync(slow, `#!/bin/sh\necho "$$" >> '${count}'\nsleep 2\ntouch '${slept}'\nexec '${PYTHON}' "$@"\n`, {
      mode: 0o755,
    });
    t = await hostWithPython(root, slow);
    assert.equal((await t.request("GET", "/plugins/ts_echo")).body.status, "running");
    assert.deepEqual(probes(count), [], "nothing probed before a Python plugin starts");

    const starting = timed(() =>
      Promise.all([t!.request("POST", "/plugin/py_one/start"), t!.request("POST", "/plugin/py_two/start")]),
    );
    await waitFor(() => probes(count).length === 1, { what: "the probe to begin" });
    const state = (await t.request("GET", "/plugins/py_one")).body;
    assert.equal(state.status, "starting", "a plugin waiting for the probe is starting");

    const health = await timed(() => t!.request("GET", "/health"));
    assert.equal(health.value.status, 200);
    assert.ok(health.ms < 500, `GET /health took ${health.ms} ms during the probe`);
    const echo = await timed(() => t!.trigger("ts_echo", "echo", { text: "still here" }));
    assert.equal(echo.value.status, 200, JSON.stringify(echo.value.body));
    assert.deepEqual(echo.value.body.data, { text: "still here" });
    assert.ok(echo.ms < 1000, `the TypeScript plugin's call took ${echo.ms} ms during the probe`);
    assert.equal(fs.existsSync(slept), false, "all of this was answered while the probe still ran");

    const { value: starts, ms } = await starting;
    assert.deepEqual(
      starts.map((s) => s.status),
      [200, 200],
      JSON.stringify(starts.map((s) => s.body)),
    );
    assert.ok(ms >= 1500, `the starts waited for the probe (${ms} ms)`);
    assert.equal(probes(count).length, 1, "two plugins started together ran exactly one probe");
    for (const id of ["py_one", "py_two"]) {
      const answer = await t.trigger(id, "whoami");
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.deepEqual(answer.body.data, { plugin: id });
    }

    // Found once, kept: a restart of a Python plugin does not probe again.
    assert.equal((await t.request("POST", "/plugin/py_one/stop")).status, 200);
    assert.equal((await t.request("POST", "/plugin/py_one/start")).status, 200);
    assert.equal(probes(count).length, 1);
    await t.close();
    t = undefined;
  });

  test("a probe that hangs is killed after 10 s and the plugin refused; the next start probes again", async () => {
    const count = path.join(root, "hang-probes.log");
    const python = path.join(root, "hanging-python");
    // `exec`: the probe's process is the sleep itself, so the host's SIGKILL ends it.
    fs.writeFileSync(python, `#!/bin/sh\necho "$$" >> '${count}'\nexec sleep 60\n`, { mode: 0o755 });
    t = await hostWithPython(root, python);

    const start = timed(() => t!.request("POST", "/plugin/py_one/start"));
    await waitFor(() => probes(count).length === 1, { what: "the probe to begin" });
    const pid = Number(probes(count)[0]);
    assert.ok(isAlive(pid), "the probe runs");
    const health = await timed(() => t!.request("GET", "/health"));
    assert.ok(health.ms < 500, `GET /health took ${health.ms} ms during a hanging probe`);

    const { value: refused, ms } = await start;
    assert.ok(ms >= 9000 && ms < 15_000, `refused after ${ms} ms`);
    assert.equal(refused.status, 502, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, "PLUGIN_LOAD_FAILED");
    assert.equal(
      refused.body.error.message,
      "Python plugins need python3 (3.11 or newer) with python3-zmq, python3-msgpack and python3-jsonschema " +
        "(apt-get install python3-zmq python3-msgpack python3-jsonschema), or NEKO_PYTHON naming such an interpreter " +
        `(${python}: its probe did not finish within 10 s)`,
    );
    const detail = (await t.request("GET", "/plugins/py_one")).body;
    assert.equal(detail.status, "refused");
    assert.equal(detail.status_reason, refused.body.error.message);
    await waitFor(() => !isAlive(pid), { what: "the hanging probe to be killed" });
    assert.equal((await t.request("GET", "/plugins/ts_echo")).body.status, "running", "the other plugins run on");

    // The interpreter is fixed meanwhile: a start by hand probes again (not the failure kept for the host's life).
    fs.writeFileSync(python, `#!/bin/sh\necho "$$" >> '${count}'\nexec '${PYTHON}' "$@"\n`, { mode: 0o755 });
    const again = await t.request("POST", "/plugin/py_one/start");
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(probes(count).length, 2);
    assert.deepEqual((await t.trigger("py_one", "whoami")).body.data, { plugin: "py_one" });
    await t.close();
    t = undefined;
  });

  test("a stop during the probe ends the start before a process is launched", async () => {
    const count = path.join(root, "stop-plugin-probes.log");
    const imported = path.join(root, "py_marked-imported");
    const python = path.join(root, "slow-python-2");
    fs.writeFileSync(python, `#!/bin/sh\necho "$$" >> '${count}'\nsleep 2\nexec '${PYTHON}' "$@"\n`, { mode: 0o755 });
    // Its module leaves a mark when it is imported, that is when a process for it was launched.
    writePlugin(root, {
      id: "py_marked",
      manifest:
        '[plugin]\nid = "py_marked"\nentry = "plugin.plugins.py_marked:Plugin"\n\n[plugin_runtime]\nauto_start = false\n',
      files: {
        "__init__.py": [
          `open(${JSON.stringify(imported)}, "w").close()`,
          "from plugin.sdk.plugin import NekoPluginBase, neko_plugin",
          "",
          "",
          "@neko_plugin",
          "class Plugin(NekoPluginBase):",
          "    pass",
          "",
        ].join("\n"),
      },
    });
    t = await hostWithPython(root, python);
    const start = t.request("POST", "/plugin/py_marked/start");
    await waitFor(() => probes(count).length === 1, { what: "the probe to begin" });
    const stop = await timed(() => t!.request("POST", "/plugin/py_marked/stop"));
    assert.equal(stop.value.status, 200, JSON.stringify(stop.value.body));
    assert.ok(stop.ms < 3000, `the stop took ${stop.ms} ms (the probe takes 2 s)`);
    const started = await start;
    assert.equal(started.body.error?.code, "PLUGIN_NOT_RUNNING", JSON.stringify(started.body));
    assert.equal(started.body.error.message, "plugin 'py_marked' was stopped before its process was launched");
    const detail = (await t.request("GET", "/plugins/py_marked")).body;
    assert.equal(detail.status, "stopped");
    assert.equal(fs.existsSync(imported), false, "no process was launched for it");

    // A start after the stop goes ahead (the interpreter found is kept).
    const again = await t.request("POST", "/plugin/py_marked/start");
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(fs.existsSync(imported), true);
    await t.close();
    t = undefined;
  });

  test("a host that stops during a probe kills it and stops at once; the start answers that it is shutting down", async () => {
    const count = path.join(root, "stop-probes.log");
    const python = path.join(root, "stopped-python");
    fs.writeFileSync(python, `#!/bin/sh\necho "$$" >> '${count}'\nexec sleep 60\n`, { mode: 0o755 });
    const host = await hostWithPython(root, python);
    t = host;
    const start = host.request("POST", "/plugin/py_two/start").catch((error: Error) => ({ error }));
    await waitFor(() => probes(count).length === 1, { what: "the probe to begin" });
    const pid = Number(probes(count)[0]);
    const stopping = await timed(() => host.host.stop());
    assert.ok(stopping.ms < 3000, `the host took ${stopping.ms} ms to stop`);
    await waitFor(() => !isAlive(pid), { what: "the probe to be killed with its host", timeoutMs: 2000 });
    assert.equal(host.host.getPlugin("py_two")?.status, "stopped");
    const answered = (await start) as { status?: number; body?: { error?: { code?: string } } };
    if (answered.status !== undefined) assert.equal(answered.body?.error?.code, "PLUGIN_NOT_RUNNING");
    await host.close();
    t = undefined;
  });
});

describe("an interpreter path that cannot even be spawned (NEKO_PYTHON through a file)", { skip: PYTHON_SKIP }, () => {
  let root: string;
  let t: TestHost | undefined;
  const reason =
    "Python plugins need python3 (3.11 or newer) with python3-zmq, python3-msgpack and python3-jsonschema " +
    "(apt-get install python3-zmq python3-msgpack python3-jsonschema), or NEKO_PYTHON naming such an interpreter " +
    "(/etc/passwd/python3: it cannot be started: spawn ENOTDIR (a part of its path is a file, not a folder))";

  before(() => {
    root = makeTempDir();
    writePlugin(root, { id: "ts_echo", className: "TsEcho", code: tsEchoCode });
    writePythonPlugin(root, "py_manual");
    // Started by the host at start-up: a probe that throws must not make the start-up fail.
    writePlugin(root, {
      id: "py_auto",
      manifest: `[plugin]\nid = "py_auto"\nentry = "plugin.plugins.py_auto:Plugin"\n`,
      files: {
        "__init__.py": "from plugin.sdk.plugin import NekoPluginBase\n\n\nclass Plugin(NekoPluginBase):\n    pass\n",
      },
    });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("the host starts, the Python plugins are refused with the reason (each start again), the others run", async () => {
    t = await hostWithPython(root, "/etc/passwd/python3");
    const auto = (await t.request("GET", "/plugins/py_auto")).body;
    assert.equal(auto.status, "refused");
    assert.equal(auto.status_reason, reason);
    for (const attempt of [1, 2]) {
      const start = await t.request("POST", "/plugin/py_manual/start");
      assert.equal(start.status, 502, `start ${attempt}: ${JSON.stringify(start.body)}`);
      assert.equal(start.body.error.code, "PLUGIN_LOAD_FAILED");
      assert.equal(start.body.error.message, reason);
      assert.equal((await t.request("GET", "/plugins/py_manual")).body.status, "refused");
    }
    assert.equal((await t.request("GET", "/health")).status, 200);
    assert.deepEqual((await t.trigger("ts_echo", "echo", { text: "alive" })).body.data, { text: "alive" });
  });
});

describe("a refusal's reason is bounded", { skip: PYTHON_SKIP }, () => {
  test("an interpreter whose error line is 5000 characters: the plugin's reason is cut at 2000", async () => {
    const root = makeTempDir();
    writePythonPlugin(root, "py_long");
    const python = path.join(root, "noisy-python");
    fs.writeFileSync(python, `#!/bin/sh\n'${PYTHON}' -c "import sys; sys.stderr.write('E' * 5000)"\nexit 1\n`, {
      mode: 0o755,
    });
    const host = await hostWithPython(root, python);
    try {
      const start = await host.request("POST", "/plugin/py_long/start");
      assert.equal(start.status, 502, JSON.stringify(start.body).slice(0, 500));
      const message: string = start.body.error.message;
      assert.equal(message.length, 2000);
      assert.ok(message.startsWith(`Python plugins need python3 (3.11 or newer)`), message.slice(0, 200));
      assert.ok(message.endsWith("EEEE"), message.slice(-50));
      assert.equal((await host.request("GET", "/plugins/py_long")).body.status_reason, message);
    } finally {
      await host.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("the probe's working directory", { skip: PYTHON_SKIP }, () => {
  test("a zmq.py, msgpack.py or jsonschema.py in the host's working directory is not what the probe imports", async () => {
    const dir = makeTempDir();
    const mark = path.join(dir, "imported");
    for (const name of ["zmq", "msgpack", "jsonschema"]) {
      fs.writeFileSync(path.join(dir, `${name}.py`), `open(${JSON.stringify(mark)}, "a").write("${name}\\n")\n`);
    }
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const found = await findPythonInterpreter([PYTHON as string]);
      assert.equal(found.ok, true, JSON.stringify(found));
      assert.equal(fs.existsSync(mark), false, "the probe imported the fakes");
    } finally {
      process.chdir(cwd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
