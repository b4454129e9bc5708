/**
 * A running plugin's reload swaps processes with no call failing (issue 11, docs/cli.md#dev): the new code loads in a
 * second process while the old one serves; a call in flight finishes on the old one; calls made during the switch
 * wait and are answered by the new one; code that cannot load leaves the old process serving, with the reason and
 * where. Real processes, real sockets, a real HTTP server.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

/** Version `v` of the plugin: its entries say which version and process answered; `extra` is added to the class. */
function versionCode(v: number, extra = ""): string {
  return `
import { NekoPluginBase, nekoPlugin, pluginEntry, lifecycle, Ok, z } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Swappy extends NekoPluginBase {
  ticks = 0;

  @lifecycle({ id: "startup" })
  async onStartup() {
    this.bus.on("swappy_ping", () => undefined);
    await this.store.set("started_by_v${v}", true);
  }

  @pluginEntry({ id: "version" })
  version() {
    return Ok({ version: ${v}, pid: process.pid });
  }

  @pluginEntry({ id: "slow", params: z.object({ ms: z.number() }), timeout: 10 })
  async slow({ ms }: { ms: number }) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return Ok({ version: ${v}, pid: process.pid });
  }

  @pluginEntry({ id: "remember", params: z.object({ value: z.string() }) })
  async remember({ value }: { value: string }) {
    await this.store.set("remembered", value);
    return Ok({ version: ${v} });
  }

  @pluginEntry({ id: "recall" })
  async recall() {
    return Ok({ version: ${v}, value: (await this.store.get("remembered", null)).value });
  }
${extra}
}
`;
}

describe("reload of a running plugin: a process swap with no failed call", () => {
  let root: string;
  let dir: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    dir = writePlugin(root, { id: "swappy", className: "Swappy", code: versionCode(1) });
    t = await startTestHost({ roots: [root] });
  });

  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const version = async () => (await t.trigger("swappy", "version")).body;
  const pid = () => t.host.getPlugin("swappy")?.pid;

  test("calls in a loop while the code changes: every call answered, the new version appears", async () => {
    const before = await version();
    assert.equal(before.data.version, 1);
    const answers: { status: number; version?: number; error?: unknown }[] = [];
    let running = true;
    // Four callers in a loop, over HTTP, for the whole reload.
    const loops = Array.from({ length: 4 }, async () => {
      while (running) {
        const res = await t.trigger("swappy", "version");
        answers.push({ status: res.status, version: res.body?.data?.version, error: res.body?.error });
      }
    });
    await waitFor(() => answers.length >= 20, { what: "calls before the edit" });
    fs.writeFileSync(path.join(dir, "index.ts"), versionCode(2));
    const reload = await t.request("POST", "/plugin/swappy/reload");
    assert.equal(reload.status, 200, JSON.stringify(reload.body));
    assert.equal(reload.body.status, "running");
    const seen = answers.length;
    await waitFor(() => answers.length >= seen + 20, { what: "calls after the reload" });
    running = false;
    await Promise.all(loops);

    const failed = answers.filter((a) => a.status !== 200);
    assert.deepEqual(failed, [], "no call failed during the reload");
    assert.ok(answers.some((a) => a.version === 1));
    assert.equal(answers.at(-1)?.version, 2, "the last calls are answered by the new code");
    // Once a call saw version 2, none saw version 1 again: calls moved over once, for good.
    const firstNew = answers.findIndex((a) => a.version === 2);
    assert.ok(answers.slice(firstNew + 4).every((a) => a.version === 2));
    const after = await version();
    assert.notEqual(after.data.pid, before.data.pid, "a new process");
    await waitFor(() => !isAlive(before.data.pid), { what: "the old process to exit" });
  });

  test("a call in flight finishes on the old process; a call made during the switch waits for the new one", async () => {
    const oldPid = pid();
    assert.ok(oldPid);
    const inFlight = t.trigger("swappy", "slow", { ms: 2500 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Version 3 says when its module has loaded in the new process (its hello follows at once).
    fs.writeFileSync(path.join(dir, "index.ts"), `${versionCode(3)}\nconsole.log("module v3 loaded");\n`);
    const reload = t.request("POST", "/plugin/swappy/reload");
    await waitFor(
      async () => {
        const logs = await t.request("GET", "/plugin/swappy/logs?max_lines=200");
        return JSON.stringify(logs.body).includes("module v3 loaded");
      },
      { what: "the new process to load" },
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The switch is waiting for the slow call: a call now is held, not failed, and the new process answers it.
    const during = t.trigger("swappy", "version");
    const [slow, duringAnswer, reloaded] = await Promise.all([inFlight, during, reload]);
    assert.equal(slow.status, 200, JSON.stringify(slow.body));
    assert.deepEqual(slow.body.data, { version: 2, pid: oldPid }, "the old process finished its call");
    assert.equal(duringAnswer.status, 200, JSON.stringify(duringAnswer.body));
    assert.equal(duringAnswer.body.data.version, 3);
    assert.equal(reloaded.status, 200);
    assert.equal(reloaded.body.pid, duringAnswer.body.data.pid);
  });

  test("code that cannot load: the reload is refused with where, and the old version keeps serving", async () => {
    const before = await version();
    const good = fs.readFileSync(path.join(dir, "index.ts"), "utf8");
    fs.writeFileSync(path.join(dir, "index.ts"), `${good}\nconst broken = ;\n`);
    const syntax = await t.request("POST", "/plugin/swappy/reload");
    assert.equal(syntax.status, 502, JSON.stringify(syntax.body));
    assert.equal(syntax.body.error.code, "PLUGIN_LOAD_FAILED");
    assert.match(syntax.body.error.message, /the running version keeps serving/);
    assert.match(syntax.body.error.message, /index\.ts:\d+/);
    assert.deepEqual((await version()).data, before.data, "same version, same process");

    fs.writeFileSync(path.join(dir, "index.ts"), good.replace("export class Swappy", "export class Renamed"));
    const missing = await t.request("POST", "/plugin/swappy/reload");
    assert.equal(missing.body.error.code, "PLUGIN_LOAD_FAILED");
    assert.match(missing.body.error.message, /does not export a class named 'Swappy' \(it exports: Renamed\)/);
    assert.deepEqual((await version()).data, before.data);

    fs.writeFileSync(
      path.join(dir, "index.ts"),
      good.replace("ticks = 0;", 'ticks = 0;\n  constructor() { super(); throw new Error("constructor says no"); }'),
    );
    const throwing = await t.request("POST", "/plugin/swappy/reload");
    assert.match(throwing.body.error.message, /constructor says no/);
    assert.deepEqual((await version()).data, before.data);
    const status = await t.request("GET", "/plugins/swappy");
    assert.equal(status.body.status, "running");

    // Fixed: the next reload takes it in.
    fs.writeFileSync(path.join(dir, "index.ts"), versionCode(4));
    assert.equal((await t.request("POST", "/plugin/swappy/reload")).status, 200);
    assert.equal((await version()).data.version, 4);
  });

  test("the store carries over, and repeated swaps leave nothing behind in the host", async () => {
    assert.equal((await t.trigger("swappy", "remember", { value: "kept" })).status, 200);
    const baseline = t.host.debugCounts();
    const pids: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      pids.push(pid() as number);
      fs.writeFileSync(path.join(dir, "index.ts"), versionCode(10 + i));
      const res = await t.request("POST", "/plugin/swappy/reload");
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    const recall = await t.trigger("swappy", "recall");
    assert.deepEqual(recall.body.data, { version: 14, value: "kept" });
    await waitFor(() => pids.every((p) => !isAlive(p)), { what: "every replaced process to exit" });
    const counts = t.host.debugCounts();
    for (const key of ["peers", "awaitingHello", "scoped", "callsInFlight", "listeners"]) {
      assert.equal(counts[key], baseline[key], `${key}: ${JSON.stringify({ baseline, counts })}`);
    }
    const { history } = (await t.request("GET", "/plugins/swappy")).body;
    const swaps = history.filter((h: { reason?: string }) => h.reason?.startsWith("reloaded: pid"));
    assert.ok(swaps.length >= 5, "the status history records the swaps");
  });
});

/** A plugin with configuration, whose entries report what it runs with; `top` is module code run at load. */
function configCode(v: number, top = "", extra = ""): string {
  return `
import { NekoPluginBase, nekoPlugin, pluginEntry, lifecycle, Ok, unwrap, z } from "@neko/plugin-sdk/plugin";
${top}
@nekoPlugin
export class Conf extends NekoPluginBase {
  @lifecycle({ id: "startup" })
  async startup() {
    // A write from startup: during a swap the plugin is starting, as at any start, so it cannot wait on itself.
    unwrap(await this.config.set("boot.count", (this.config.get("boot.count", 0) as number) + 1));
  }

  @pluginEntry({ id: "seen" })
  seen() {
    return Ok({ version: ${v}, max: this.config.get("limits.max"), pid: process.pid });
  }

  @pluginEntry({ id: "slow", params: z.object({ ms: z.number() }), timeout: 20 })
  async slow({ ms }: { ms: number }) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return Ok({ version: ${v}, pid: process.pid });
  }

  @pluginEntry({ id: "slow_write", params: z.object({ ms: z.number() }), timeout: 20 })
  async slowWrite({ ms }: { ms: number }) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    // A write of its own while the reload waits for this very call to finish.
    unwrap(await this.config.set("limits.max", 55));
    return Ok({ version: ${v}, pid: process.pid });
  }
${extra}
}
`;
}

describe("reload of a running plugin: configuration and failures around the switch", () => {
  let root: string;
  let dir: string;
  let t: TestHost;
  const manifest = '[plugin]\nid = "conf"\nentry = "index.ts:Conf"\n\n[boot]\ncount = 0\n\n[limits]\nmax = 10\n';

  before(async () => {
    root = makeTempDir();
    dir = writePlugin(root, { id: "conf", manifest, code: configCode(1) });
    t = await startTestHost({ roots: [root] });
  });

  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const seen = async () => (await t.trigger("conf", "seen")).body.data;
  const save = (code: string) => fs.writeFileSync(path.join(dir, "index.ts"), code);

  test("a plugin that writes its configuration in startup reloads at once, its write kept", async () => {
    const started = Date.now();
    save(configCode(2));
    const reload = await t.request("POST", "/plugin/conf/reload");
    assert.equal(reload.status, 200, JSON.stringify(reload.body));
    assert.ok(Date.now() - started < 15_000, "not held up by its own startup write");
    assert.equal((await seen()).version, 2);
    assert.equal(t.host.config.get("conf").ok, true);
    assert.match(fs.readFileSync(path.join(dir, "plugin.toml"), "utf8"), /^count = 2/m);
    const { history } = (await t.request("GET", "/plugins/conf")).body;
    const states = history.slice(-2).map((h: { state: string; reason?: string }) => `${h.state}: ${h.reason}`);
    assert.match(states[0], /^starting: reloading: pid \d+ → \d+$/);
    assert.match(states[1], /^running: reloaded: pid \d+ → \d+$/);
  });

  test("a call the old process serves may write its configuration while the reload waits for it", async () => {
    const write = t.trigger("conf", "slow_write", { ms: 1500 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    save(configCode(3));
    const reload = await t.request("POST", "/plugin/conf/reload");
    const done = await write;
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.data.version, 2);
    assert.equal(reload.status, 200, JSON.stringify(reload.body));
    // The old process's write was permanent (it is in plugin.toml): the new process runs with it.
    assert.deepEqual([(await seen()).version, (await seen()).max], [3, 55]);
  });

  test("a permanent write while the new code loads reaches the new process", async () => {
    // The new module takes a while to load and says when it begins.
    save(configCode(4, 'console.log("v4 loading");\nawait new Promise((resolve) => setTimeout(resolve, 1500));'));
    const reload = t.request("POST", "/plugin/conf/reload");
    await waitFor(async () =>
      JSON.stringify((await t.request("GET", "/plugin/conf/logs")).body).includes("v4 loading"),
    );
    const write = await t.request("POST", "/plugin/conf/config/hot-update", {
      config: { limits: { max: 77 } },
      mode: "permanent",
    });
    assert.equal(write.status, 200, JSON.stringify(write.body));
    assert.equal((await reload).status, 200);
    assert.deepEqual([(await seen()).version, (await seen()).max], [4, 77]);
    assert.equal((await t.request("GET", "/plugin/conf/config")).body.config.limits.max, 77);
  });

  test("a refused reload changes nothing the host reports: a temporary patch stays", async () => {
    const patch = await t.request("POST", "/plugin/conf/config/hot-update", { config: { limits: { max: 60 } } });
    assert.equal(patch.status, 200, JSON.stringify(patch.body));
    const before = await seen();
    assert.equal(before.max, 60);
    save(`${configCode(5)}\nconst broken = ;\n`);
    assert.equal((await t.request("POST", "/plugin/conf/reload")).status, 502);
    assert.deepEqual(await seen(), before);
    assert.equal((await t.request("GET", "/plugin/conf/config")).body.config.limits.max, 60);
  });

  test("a new process that dies after loading, while the old one drains, leaves the old one serving", async () => {
    const before = await seen();
    // Long enough that the new process has surely loaded, and died, while the old one drains (a loaded machine may
    // take seconds to start a process).
    const slow = t.trigger("conf", "slow", { ms: 8000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // It dies 2.5 s after its module ran: after its handshake (300 ms was too short at load 7, and it died before
    // it was ready), and well inside the 8 s drain.
    save(configCode(6, "setTimeout(() => process.exit(3), 2500);"));
    const reload = await t.request("POST", "/plugin/conf/reload");
    assert.equal(reload.status, 502, JSON.stringify(reload.body));
    assert.match(reload.body.error.message, /the running version keeps serving: the new process exited/);
    assert.equal((await slow).status, 200);
    const after = await seen();
    assert.equal(after.pid, before.pid);
    assert.equal((await t.request("GET", "/plugins/conf")).body.status, "running");
  });
});
