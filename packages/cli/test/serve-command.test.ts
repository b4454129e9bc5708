/** `neko-plugin serve` as a user runs it: a real process, real plugins, stopped by a signal. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { isAlive, makeTempDir, writePlugin } from "../../../test/support/plugin-fixtures.ts";
import { simplePluginCode } from "../../../test/support/sample-plugins.ts";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/neko-plugin.js");

function startServe(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [bin, "serve", ...args], {
    env: { ...process.env, NEKO_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const ready = new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      lines.push(line);
      const match = /ready at (http:\/\/[^:]+:\d+)/.exec(line);
      if (match) resolve(match[1]);
    });
    child.on("exit", (code) => reject(new Error(`serve exited early with ${code}: ${lines.join("\n")}`)));
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, ready, exited, lines, stderr: () => stderr };
}

describe("neko-plugin serve", () => {
  const root = makeTempDir();
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  writePlugin(root, { id: "one", className: "One", code: simplePluginCode("One") });
  writePlugin(root, { id: "two", className: "Two", code: simplePluginCode("Two") });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    test(`serves the plugins of --plugins-dir, and ${signal} stops every child process`, async () => {
      const serve = startServe(["--port", "0", "--no-builtin", "--plugins-dir", root]);
      try {
        const url = await serve.ready;
        const plugins = (await (await fetch(`${url}/plugins`)).json()) as { plugins: { id: string; pid: number }[] };
        assert.deepEqual(plugins.plugins.map((p) => p.id).sort(), ["one", "two"]);
        const pids = plugins.plugins.map((p) => p.pid);
        assert.ok(pids.every((pid) => isAlive(pid)));
        const res = await fetch(`${url}/plugin/trigger`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ plugin_id: "two", entry_id: "ping" }),
        });
        assert.deepEqual(((await res.json()) as { data: unknown }).data, { from: "two" });
        serve.child.kill(signal);
        assert.equal(await serve.exited, 0);
        for (const pid of pids) assert.equal(isAlive(pid), false, `plugin process ${pid} is gone`);
        assert.match(serve.lines.join("\n"), /"plugin":"two".*plugin running/, "logs are tagged by plugin");
      } finally {
        serve.child.kill("SIGKILL");
      }
    });
  }

  test("a bad --port is refused with a clear message", async () => {
    const serve = startServe(["--port", "99999", "--no-builtin"]);
    serve.ready.catch(() => undefined);
    assert.equal(await serve.exited, 1);
    assert.match(serve.stderr(), /--port must be a whole number from 0 to 65535/);
  });

  test("a non-loopback bind without NEKO_API_TOKEN is refused", async () => {
    const serve = startServe(["--port", "0", "--host", "0.0.0.0", "--no-builtin"], { NEKO_API_TOKEN: "" });
    serve.ready.catch(() => undefined);
    assert.equal(await serve.exited, 1);
    assert.match(serve.stderr(), /set NEKO_API_TOKEN/);
  });
});
