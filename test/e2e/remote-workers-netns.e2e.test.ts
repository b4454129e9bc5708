/**
 * A remote worker on another network host: the test makes a network namespace joined to this one by a veth pair
 * (`ip netns`, as root), runs `neko-plugin worker` inside it, and has the host accept workers only on its side of the
 * link. Then it cuts the link: no connection closes, nothing is said — the host must notice the silence within its
 * heartbeat timeout (the pending call fails with PLUGIN_UNREACHABLE, the plugin is `unreachable`), the worker must
 * notice it too and stop the plugin process, and when the link is back the worker joins again and the plugin runs.
 *
 * Where namespaces cannot be made (not root, no iproute2), the same behaviour over loopback is in
 * remote-workers.e2e.test.ts; this file then skips, saying why.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type CurveKeyPair, makeKeyPair, writeKeyFile } from "@neko/host";
import { isAlive, makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../packages/cli/bin/neko-plugin.js");
const tag = randomBytes(3).toString("hex");
const NS = `neko-${tag}`;
const HOST_IF = `nk${tag}a`;
const NS_IF = `nk${tag}b`;
// A /30 out of 10.213.x.x, picked per run so that two runs on one machine do not meet.
const subnet = `10.213.${randomBytes(1)[0]}`;
const HOST_IP = `${subnet}.1`;
const NS_IP = `${subnet}.2`;

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** Why namespaces cannot be made here, or undefined when they were. */
function makeNamespace(): string | undefined {
  try {
    ip("netns", "add", NS);
  } catch (error) {
    return `cannot make a network namespace here (${(error as Error).message.split("\n")[0]}); loopback is tested instead`;
  }
  try {
    ip("link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF);
    ip("link", "set", NS_IF, "netns", NS);
    ip("addr", "add", `${HOST_IP}/30`, "dev", HOST_IF);
    ip("link", "set", HOST_IF, "up");
    ip("netns", "exec", NS, "ip", "addr", "add", `${NS_IP}/30`, "dev", NS_IF);
    ip("netns", "exec", NS, "ip", "link", "set", NS_IF, "up");
    ip("netns", "exec", NS, "ip", "link", "set", "lo", "up");
  } catch (error) {
    // A namespace without its link is no test: remove it (its end of the pair goes with it).
    try {
      ip("netns", "del", NS);
    } catch {
      // Nothing left to remove.
    }
    return `cannot join a network namespace by veth here (${(error as Error).message.split("\n")[0]}); loopback is tested instead`;
  }
  return undefined;
}

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok, z } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Far extends NekoPluginBase {
  @pluginEntry({ id: "where", params: z.object({}) })
  where() {
    return Ok({ pid: process.pid });
  }

  @pluginEntry({ id: "slow", params: z.object({ ms: z.number() }), timeout: 60 })
  async slow({ ms }: { ms: number }) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return Ok("done");
  }
}
`;

const unavailable = makeNamespace();
let dir: string;
let t: TestHost;
let worker: ChildProcess | undefined;
let hostKeys: CurveKeyPair;

async function waitFor(what: string, probe: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

before(async () => {
  if (unavailable) return;
  dir = makeTempDir("neko-netns-");
  hostKeys = makeKeyPair();
  const workerKeys = makeKeyPair();
  const keyFile = path.join(dir, "worker.key");
  writeKeyFile(keyFile, workerKeys);
  writePlugin(path.join(dir, "remote"), { id: "far", className: "Far", code });
  t = await startTestHost({
    roots: [],
    dataDir: path.join(dir, "data"),
    workers: {
      endpoint: `tcp://${HOST_IP}:0`,
      keys: hostKeys,
      authorizedKeys: [workerKeys.publicKey],
      pingIntervalMs: 500,
      timeoutMs: 2000,
    },
  });
  const endpoint = t.host.info().worker_endpoint as string;
  worker = spawn(
    "ip",
    [
      "netns",
      "exec",
      NS,
      process.execPath,
      CLI,
      "worker",
      "--connect",
      endpoint,
      "--plugins-dir",
      path.join(dir, "remote"),
      "--server-key",
      hostKeys.publicKey,
      "--key-file",
      keyFile,
      "--name",
      "netns-box",
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NEKO_LOG_LEVEL: "warn" } },
  );
  worker.stdout?.resume();
  worker.stderr?.resume();
});

after(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) {
    const exited = new Promise((resolve) => worker?.once("exit", resolve));
    worker.kill("SIGTERM");
    await exited;
  }
  await t?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  if (!unavailable) {
    // Deleting the namespace deletes the veth pair (both ends) with it.
    try {
      ip("netns", "del", NS);
    } catch {
      // Already gone.
    }
  }
});

test("a worker in another network namespace: its plugin runs, a cut link makes it unreachable, a mended one brings it back", {
  skip: unavailable,
}, async () => {
  await waitFor("far running", () => t.host.getPlugin("far")?.status === "running");
  assert.equal(t.host.getPlugin("far")?.machine, "netns-box");
  const first = await t.trigger("far", "where");
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const firstPid = first.body.data.pid as number;

  const pending = t.trigger("far", "slow", { ms: 30_000 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  // The cut: the link goes down; no FIN, no RST, just silence.
  const cutAt = Date.now();
  ip("link", "set", HOST_IF, "down");
  const answer = await pending;
  const tookMs = Date.now() - cutAt;
  assert.equal(answer.body.error?.code, "PLUGIN_UNREACHABLE", JSON.stringify(answer.body));
  // The host's timeout is 2 s: the call fails then, not at its own 30 s.
  assert.ok(tookMs < 10_000, `the pending call failed ${tookMs} ms after the cut`);
  console.log(`# netns: a call pending on a cut link failed with PLUGIN_UNREACHABLE after ${tookMs} ms (timeout 2 s)`);
  assert.equal(t.host.getPlugin("far")?.status, "unreachable");
  // The worker hears nothing either: it stops the plugin process it ran for the host.
  await waitFor("the worker to stop its plugin process", () => !isAlive(firstPid), 15_000);
  assert.equal(worker?.exitCode, null, "the worker stays up, waiting for its host");

  ip("link", "set", HOST_IF, "up");
  await waitFor("far running again", () => t.host.getPlugin("far")?.status === "running", 45_000);
  const again = await t.trigger("far", "where");
  assert.equal(again.status, 200);
  assert.notEqual(again.body.data.pid, firstPid);
});
