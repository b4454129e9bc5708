/**
 * The pipe transport through real plugin processes (docs/wire-protocol.md#framing-on-a-byte-stream): calls, a crash
 * failing its call at once, and hostile plugins writing to their own pipe — a 4 GiB length prefix, garbage, a flood
 * of valid frames. The host stays up, the other plugins run on in the same processes, and no socket file exists for
 * a pipe plugin for another process to connect to. A plugin naming `transport = "zmq"` runs beside them on ZeroMQ.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = (className: string) => `
import fs from "node:fs";
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

/**
 * Writes straight to the plugin's end of its pipe to the host (fd 5), as hostile code can, past the SDK; all of it
 * before anything else runs, so no frame of the SDK's lands inside it.
 */
function writeRaw(bytes: Buffer) {
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += fs.writeSync(5, bytes, offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
    }
  }
}

@nekoPlugin
export class ${className} extends NekoPluginBase {
  private calls = 0;

  @pluginEntry({ id: "bump" })
  bump() {
    this.calls += 1;
    const fd5 = fs.fstatSync(5);
    return Ok({ calls: this.calls, pid: process.pid, fd5: fd5.isSocket() ? \`socket:[\${fd5.ino}]\` : "not a socket" });
  }

  @pluginEntry({ id: "die" })
  die() {
    setTimeout(() => process.exit(3), 20);
    return new Promise(() => {});
  }

  @pluginEntry({ id: "huge_length" })
  hugeLength() {
    writeRaw(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    return new Promise(() => {});
  }

  @pluginEntry({ id: "garbage" })
  garbage() {
    writeRaw(Buffer.from("GET / HTTP/1.1\\r\\nHost: host\\r\\n\\r\\n"));
    return new Promise(() => {});
  }

  @pluginEntry({ id: "flood" })
  flood() {
    // 200 000 well-framed {type: "pong"} messages, as fast as the pipe takes them.
    const pong = Buffer.from([0, 0, 0, 11, 0x81, 0xa4, 0x74, 0x79, 0x70, 0x65, 0xa4, 0x70, 0x6f, 0x6e, 0x67]);
    const batch = Buffer.concat(Array.from({ length: 1000 }, () => pong));
    for (let i = 0; i < 200; i++) writeRaw(batch);
    return Ok({ sent: 200_000 });
  }
}
`;

function manifest(id: string, transport?: string): string {
  const runtime = transport === undefined ? "" : `[plugin_runtime]\ntransport = "${transport}"\n`;
  return `[plugin]\nid = "${id}"\nentry = "index.ts:P"\n${runtime}`;
}

/** Every socket file under `dir`. */
function socketFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isSocket())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

function mapsOf(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/maps`, "utf8");
}

describe("pipe transport", { concurrency: false }, () => {
  let root: string;
  let t: TestHost;
  let runDir: string;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "piped", code: code("P"), manifest: manifest("piped", "pipe") });
    writePlugin(root, { id: "bystander", code: code("P"), manifest: manifest("bystander") });
    writePlugin(root, { id: "hostile", code: code("P"), manifest: manifest("hostile", "pipe") });
    writePlugin(root, { id: "zmq_one", code: code("P"), manifest: manifest("zmq_one", "zmq") });
    writePlugin(root, { id: "pigeon", code: code("P"), manifest: manifest("pigeon", "carrier-pigeon") });
    t = await startTestHost({
      roots: [root],
      localTransport: "pipe",
      restartPolicy: { baseDelayMs: 100, maxDelayMs: 400, maxCrashes: 10, windowMs: 60_000 },
    });
    runDir = path.dirname(t.host.endpoint.replace(/^ipc:\/\//, ""));
  });

  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("a pipe plugin answers over its fd 5 socket pair with no ZeroMQ loaded; the only socket file is ZeroMQ's", async () => {
    const res = await t.trigger("piped", "bump");
    assert.equal(res.status, 200);
    const { pid, fd5, calls } = res.body.data;
    assert.equal(calls, 1);
    assert.match(fd5, /^socket:\[\d+\]$/);
    // No native code speaks to the host: the ZeroMQ addon is not even loaded in the process.
    assert.doesNotMatch(mapsOf(pid), /zeromq/);
    // Four plugins run; the run folder holds one socket, ZeroMQ's, for the plugin that asked for it (and Python's).
    assert.deepEqual(socketFiles(runDir), ["host.sock"]);
    // The socket pair has no address another process could connect to.
    const unix = fs.readFileSync("/proc/net/unix", "utf8");
    const inode = fd5.match(/\d+/)[0];
    const row = unix.split("\n").find((line) => line.split(/\s+/)[6] === inode);
    assert.ok(row, "the socket is a Unix socket");
    assert.equal(row.trim().split(/\s+/).length, 7, `no path in /proc/net/unix: ${row}`);
  });

  test("the host default applies to a manifest that names no transport; `zmq` runs on ZeroMQ beside them", async () => {
    const bystander = await t.trigger("bystander", "bump");
    assert.equal(bystander.status, 200);
    assert.match(bystander.body.data.fd5, /^socket:/);
    assert.doesNotMatch(mapsOf(bystander.body.data.pid), /zeromq/);
    const zmq = await t.trigger("zmq_one", "bump");
    assert.equal(zmq.status, 200);
    assert.match(mapsOf(zmq.body.data.pid), /zeromq/);
  });

  test("an unknown transport in the manifest refuses the plugin, naming the key and the choices", () => {
    const pigeon = t.host.getPlugin("pigeon");
    assert.equal(pigeon?.status, "refused");
    assert.match(
      pigeon?.status_reason ?? "",
      /\[plugin_runtime\]\.transport.*must be one of 'zmq', 'pipe', not 'carrier-pigeon'/,
    );
  });

  test("a process that exits mid-call fails the call at once with PLUGIN_CRASHED, and is restarted", async () => {
    const before = (await t.trigger("piped", "bump")).body.data.pid;
    const started = Date.now();
    const res = await t.trigger("piped", "die");
    assert.equal(res.status, 502);
    assert.equal(res.body.error.code, "PLUGIN_CRASHED");
    assert.match(res.body.error.message, /crashed during the call \(exit code 3\)/);
    assert.ok(Date.now() - started < 10_000, "answered at the exit, not at the call's deadline");
    await waitFor(() => t.host.getPlugin("piped")?.status === "running", { what: "the restart" });
    const after = await t.trigger("piped", "bump");
    assert.notEqual(after.body.data.pid, before);
  });

  for (const [entry, problem] of [
    ["huge_length", /a frame of 4294967295 bytes, over the 67108864-byte limit/],
    ["garbage", /a frame of 1195725856 bytes, over the 67108864-byte limit/],
  ] as const) {
    test(`a plugin writing ${entry === "huge_length" ? "a 4 GiB length prefix" : "garbage"} on its pipe is cut off and treated as crashed; the others run on`, async () => {
      const bystanderBefore = (await t.trigger("bystander", "bump")).body.data;
      const hostilePid = (await t.trigger("hostile", "bump")).body.data.pid;
      const res = await t.trigger("hostile", entry);
      assert.equal(res.status, 502, JSON.stringify(res.body));
      assert.equal(res.body.error.code, "PLUGIN_CRASHED");
      assert.match(res.body.error.message, /it broke the framing of its pipe to the host/);
      assert.match(res.body.error.message, problem);
      await waitFor(
        () => {
          const p = t.host.getPlugin("hostile");
          return p?.status === "running" && p.pid !== hostilePid;
        },
        { what: "the hostile plugin's restart" },
      );
      // The bystander is the same process, its state intact.
      const bystanderAfter = (await t.trigger("bystander", "bump")).body.data;
      assert.equal(bystanderAfter.pid, bystanderBefore.pid);
      assert.equal(bystanderAfter.calls, bystanderBefore.calls + 1);
      assert.equal((await t.request("GET", "/health")).status, 200);
    });
  }

  test("a flood of valid frames is read at the pace the host takes it: the host and the others keep answering", async () => {
    const hostilePid = (await t.trigger("hostile", "bump")).body.data.pid;
    const flood = t.trigger("hostile", "flood");
    const answered: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await t.trigger("bystander", "bump");
      assert.equal(res.status, 200);
      answered.push(res.body.data.calls);
    }
    assert.equal(new Set(answered).size, 10);
    const res = await flood;
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.data, { sent: 200_000 });
    // Valid frames are no fault (as over ZeroMQ): the flooding plugin still runs, in the same process.
    const again = await t.trigger("hostile", "bump");
    assert.equal(again.body.data.pid, hostilePid);
  });
});
