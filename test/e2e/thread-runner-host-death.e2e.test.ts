/**
 * A thread runner's lifetime is its host's: a host killed with SIGKILL (no stop, no cleanup) leaves no runner behind
 * — its IPC channel closes and it exits with all its threads (docs/architecture.md#thread-plugins).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import { after, test } from "node:test";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";

const code = `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Idle extends NekoPluginBase {
  @pluginEntry({ id: "noop" })
  noop() {
    return Ok(null);
  }
}
`;

// The host, in a process of its own: it prints its runner's pid once its thread plugin runs, then waits.
const hostScript = `
import { createSilentLogger, PluginHost } from "@neko/host";
const host = await PluginHost.create({ roots: [process.env.ROOT], logger: createSilentLogger() });
await host.startAll();
const plugin = host.listPlugins().find((p) => p.id === "idle");
process.stdout.write(JSON.stringify({ status: plugin.status, pid: plugin.pid, isolation: plugin.isolation }) + "\\n");
setInterval(() => undefined, 1000);
`;

const root = makeTempDir();
// The killed host cannot remove its run folder: it makes it under this one, which the test removes.
const tmp = makeTempDir("neko-host-tmp-");
const pids: number[] = [];
after(() => {
  for (const pid of pids) if (isAlive(pid)) process.kill(pid, "SIGKILL");
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("a host killed with SIGKILL takes its thread runner with it", async () => {
  const manifest = `[plugin]\nid = "idle"\nentry = "index.ts:Idle"\n\n[plugin_runtime]\nisolation = "thread"\n`;
  writePlugin(root, { id: "idle", className: "Idle", manifest, code });
  const host = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", hostScript], {
    env: { ...process.env, ROOT: root, TMPDIR: tmp },
    stdio: ["ignore", "pipe", "inherit"],
  });
  pids.push(host.pid as number);
  let out = "";
  host.stdout?.on("data", (d) => {
    out += d;
  });
  const line = await waitFor(() => out.split("\n").find((l) => l.startsWith("{")), {
    timeoutMs: 60_000,
    what: "the host's report",
  });
  const report = JSON.parse(line) as { status: string; pid: number; isolation: string };
  assert.equal(report.status, "running");
  assert.equal(report.isolation, "thread");
  pids.push(report.pid);
  assert.ok(isAlive(report.pid), "the runner runs");
  assert.notEqual(report.pid, host.pid);
  process.kill(host.pid as number, "SIGKILL");
  await waitFor(() => !isAlive(report.pid), { timeoutMs: 10_000, what: "the runner to exit" });
});
