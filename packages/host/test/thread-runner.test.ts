/**
 * The thread runner's protocol (docs/architecture.md#thread-plugins): what the host accepts from a runner
 * (`parseRunnerMessage`), what a real runner process does with orders it cannot follow (says why and goes on), that it
 * exits with its host's IPC channel, and which launches a thread refuses (`threadRefusal`), and how a thread plugin's child is killed (`ThreadPluginChild`).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { after, describe, test } from "node:test";
import { THREAD_RUNNER_PATH } from "../src/plugin-host.ts";
import { TERMINATE_GRACE_MS, ThreadPluginChild } from "../src/supervisor/thread-plugin-child.ts";
import { threadRefusal } from "../src/supervisor/thread-plugin-launcher.ts";
import { ThreadRunner } from "../src/supervisor/thread-runner.ts";
import { createSilentLogger } from "../src/host-logger.ts";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseRunnerMessage } from "../src/supervisor/thread-runner-message.ts";

describe("parseRunnerMessage", () => {
  test("takes the runner's messages as they are", () => {
    assert.deepEqual(parseRunnerMessage({ type: "started", id: "a#1", threadId: 3 }), {
      type: "started",
      id: "a#1",
      threadId: 3,
    });
    assert.deepEqual(parseRunnerMessage({ type: "output", id: "a#1", stream: "stderr", chunk: "x\n" }), {
      type: "output",
      id: "a#1",
      stream: "stderr",
      chunk: "x\n",
    });
    assert.deepEqual(parseRunnerMessage({ type: "exit", id: "a#1", code: null, reason: "oom" }), {
      type: "exit",
      id: "a#1",
      code: null,
      reason: "oom",
    });
    assert.deepEqual(parseRunnerMessage({ type: "pong", seq: 4 }), { type: "pong", seq: 4 });
  });

  test("names what is wrong with a message it cannot use", () => {
    assert.equal(parseRunnerMessage(null), "not an object");
    assert.equal(parseRunnerMessage([1]), "not an object");
    assert.equal(parseRunnerMessage({ type: "started", id: "a" }), "started: needs an id and an integer threadId");
    assert.equal(
      parseRunnerMessage({ type: "output", id: "a", stream: "fd3", chunk: "" }),
      "output: needs an id, a stream (stdout or stderr) and a string chunk",
    );
    assert.equal(
      parseRunnerMessage({ type: "exit", id: "", code: 1 }),
      "exit: needs an id and an integer or null code",
    );
    assert.equal(
      parseRunnerMessage({ type: "exit", id: "a", code: 1.5 }),
      "exit: needs an id and an integer or null code",
    );
    assert.equal(parseRunnerMessage({ type: "exit", id: "a", code: 1, reason: 7 }), "exit: reason must be a string");
    assert.equal(parseRunnerMessage({ type: "pong" }), "pong: needs an integer seq");
    assert.equal(parseRunnerMessage({ type: "hello" }), 'unknown message type "hello"');
  });
});

describe("threadRefusal", () => {
  const model = { fsRead: [], fsWrite: [], childProcess: false, workerThreads: false };
  test("refuses a Python plugin, a child_process grant and a worker_threads grant, with the reason", () => {
    assert.match(threadRefusal({ language: "python" }) ?? "", /isolation = "thread" is for Node plugins/);
    assert.match(
      threadRefusal({ permissions: { ...model, childProcess: true } }) ?? "",
      /cannot honour \[plugin.permissions\] child_process = true: Node's permission model is per process/,
    );
    assert.match(
      threadRefusal({ permissions: { ...model, workerThreads: true } }) ?? "",
      /cannot honour \[plugin.permissions\] worker_threads = true: a thread may start no worker/,
    );
  });
  test("takes a Node plugin with or without the permission model", () => {
    assert.equal(threadRefusal({ permissions: model }), undefined);
    assert.equal(threadRefusal({}), undefined);
  });
});

describe("a thread runner process", () => {
  const started: ChildProcess[] = [];
  after(() => {
    for (const child of started) child.kill("SIGKILL");
  });

  function runner(): { child: ChildProcess; next: () => Promise<Record<string, unknown>> } {
    const child = spawn(process.execPath, [THREAD_RUNNER_PATH], {
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "advanced",
    });
    started.push(child);
    const queue: Record<string, unknown>[] = [];
    const waiting: Array<(m: Record<string, unknown>) => void> = [];
    child.on("message", (m) => {
      const waiter = waiting.shift();
      if (waiter) waiter(m as Record<string, unknown>);
      else queue.push(m as Record<string, unknown>);
    });
    const next = () => {
      const m = queue.shift();
      return m ? Promise.resolve(m) : new Promise<Record<string, unknown>>((resolve) => waiting.push(resolve));
    };
    return { child, next };
  }

  test("answers each order it cannot follow with the reason, and goes on", async () => {
    const { child, next } = runner();
    const good = {
      type: "start",
      id: "p#1",
      env: { NEKO_PLUGIN_ID: "p" },
      bootstrap: "{}",
      maxHeapMb: 32,
      connection: { endpoint: "ipc:///nonexistent/host.sock", routingId: "r" },
    };
    const cases: Array<[unknown, string]> = [
      [[1, 2], "a message must be an object"],
      [{ type: "launch" }, 'unknown message type "launch"'],
      [{ ...good, id: "" }, "start: id must be a non-empty string of at most 128 characters"],
      [{ ...good, id: "x".repeat(129) }, "start: id must be a non-empty string of at most 128 characters"],
      [{ ...good, bootstrap: 5 }, "start: bootstrap must be a string"],
      [{ ...good, maxHeapMb: 0 }, "start: maxHeapMb must be a positive integer"],
      [{ ...good, maxHeapMb: "64" }, "start: maxHeapMb must be a positive integer"],
      [
        { ...good, env: { NODE_OPTIONS: "--require /tmp/evil.js" } },
        "start: env must map NEKO_PLUGIN_* names to strings",
      ],
      [{ ...good, env: { NEKO_PLUGIN_ID: 1 } }, "start: env must map NEKO_PLUGIN_* names to strings"],
      [
        { ...good, connection: { endpoint: 1 } },
        "start: connection must have an endpoint, a routingId and, if any, curve keys",
      ],
      [
        { ...good, connection: { endpoint: "ipc:///x", routingId: "r", curve: { serverKey: "k" } } },
        "start: connection must have an endpoint, a routingId and, if any, curve keys",
      ],
      [{ type: "terminate", id: 42 }, "terminate: id must be a non-empty string of at most 128 characters"],
    ];
    for (const [order, reason] of cases) {
      child.send(order as object);
      assert.deepEqual(await next(), { type: "bad_message", reason }, JSON.stringify(order));
    }
    child.send({ type: "terminate", id: "nobody#1" });
    assert.deepEqual(await next(), { type: "exit", id: "nobody#1", code: null, reason: "no such thread" });
    child.send({ type: "ping", seq: 7 });
    assert.deepEqual(await next(), { type: "pong", seq: 7 });
    assert.equal(child.exitCode, null, "still running");
  });

  test("exits when its host's IPC channel closes", async () => {
    const { child } = runner();
    const exited = once(child, "exit");
    child.disconnect();
    const [code] = await exited;
    assert.equal(code, 0);
  });

  test("refuses to run without a host", async () => {
    const child = spawn(process.execPath, [THREAD_RUNNER_PATH], { stdio: ["ignore", "ignore", "pipe"] });
    started.push(child);
    let stderr = "";
    child.stderr?.on("data", (d) => {
      stderr += d;
    });
    const [code] = await once(child, "exit");
    assert.equal(code, 2);
    assert.match(stderr, /must be started by the neko-plugin host/);
  });
});

describe("ThreadPluginChild", () => {
  test("kill asks the runner to terminate the thread, and kills the runner when the exit does not come", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const calls: string[] = [];
    const child = new ThreadPluginChild("p#1", {
      pid: 1234,
      terminate: (id) => calls.push(`terminate ${id}`),
      kill: () => calls.push("kill runner"),
    });
    assert.equal(child.pid, 1234);
    child.kill();
    child.kill();
    assert.deepEqual(calls, ["terminate p#1"], "asked once");
    t.mock.timers.tick(TERMINATE_GRACE_MS - 1);
    assert.deepEqual(calls, ["terminate p#1"]);
    t.mock.timers.tick(1);
    assert.deepEqual(calls, ["terminate p#1", "kill runner"]);
  });

  test("a thread that exits in time leaves its runner alone; its exit carries the runner's reason on stderr", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const calls: string[] = [];
    const child = new ThreadPluginChild("p#2", {
      pid: 1,
      terminate: () => calls.push("terminate"),
      kill: () => calls.push("kill runner"),
    });
    const lines: string[] = [];
    child.onLine(({ stream, line }) => lines.push(`${stream}: ${line}`));
    const exited = new Promise((resolve) => child.onExit(resolve));
    child.threadStarted(7);
    assert.equal(child.threadId, 7);
    child.output("stdout", '{"msg":"a"}\n');
    child.kill();
    child.exit({ code: 1, reason: "out of memory: the thread reached its heap limit (max_heap_mb = 48)" });
    t.mock.timers.tick(TERMINATE_GRACE_MS * 2);
    assert.deepEqual(await exited, { code: 1, signal: null });
    await child.outputDone();
    assert.deepEqual(calls, ["terminate"]);
    assert.deepEqual(lines, [
      'stdout: {"msg":"a"}',
      "stderr: out of memory: the thread reached its heap limit (max_heap_mb = 48)",
    ]);
  });
});

describe("ThreadRunner", () => {
  /** A stand-in runner that answers every start with an exit for a launch the host never gave. */
  /** The runner's process is unref'd (it never holds the host up): a test waiting on it holds the loop itself. */
  const gone = (runner: ThreadRunner) =>
    new Promise<void>((resolve) => {
      const hold = setInterval(() => undefined, 100);
      runner.onGone(() => {
        clearInterval(hold);
        resolve();
      });
    });
  const fakeRunner = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-fake-runner-"));
    const file = path.join(dir, "runner.mjs");
    fs.writeFileSync(
      file,
      `process.on("message", (m) => { if (m.type !== "start") return;
         if (m.id === "ends#1") process.send({ type: "exit", id: m.id, code: 0 });
         setTimeout(() => process.send({ type: "exit", id: "forged#1", code: 0 }), 200); });
       process.on("disconnect", () => process.exit(0));`,
    );
    return { dir, file };
  };

  test("is not alive the moment it is killed: no launch lands on a dying runner", async () => {
    const { dir, file } = fakeRunner();
    const runner = new ThreadRunner({ runnerPath: file, flags: [], logger: createSilentLogger() });
    try {
      assert.equal(runner.alive, true);
      runner.kill();
      assert.equal(runner.alive, false, "retiring at once, before its exit event");
      const exited = new Promise((resolve) =>
        runner
          .start({
            id: "p#1",
            env: {},
            bootstrap: "{}",
            connection: { endpoint: "ipc:///x", routingId: "r" } as never,
            maxHeapMb: 16,
          })
          .onExit(resolve),
      );
      assert.deepEqual(await exited, { code: null, signal: null });
      await gone(runner);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an exit for a launch it does not know changes nothing: a running thread stays, an idle runner is not idle again", async () => {
    const { dir, file } = fakeRunner();
    const runner = new ThreadRunner({ runnerPath: file, flags: [], logger: createSilentLogger() });
    let idle = 0;
    runner.onIdle = () => {
      idle += 1;
    };
    const connection = { endpoint: "ipc:///x", routingId: "r" } as never;
    try {
      let exits = 0;
      runner.start({ id: "ends#1", env: {}, bootstrap: "{}", connection, maxHeapMb: 16 }).onExit(() => {
        exits += 1;
      });
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(exits, 1);
      assert.equal(idle, 1, "idle once, for its own thread's exit; the forged one after it is ignored");
      assert.equal(runner.alive, true);
    } finally {
      runner.kill();
      await gone(runner);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
