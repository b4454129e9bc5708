// The thread runner ([plugin_runtime] isolation = "thread", docs/architecture.md): one Node process the host spawns
// when its first thread plugin starts, running each thread plugin as a worker thread (plugin-thread.mjs) with its own
// V8 isolate and heap limit. It runs no plugin code itself. It takes orders only from the host, on its IPC channel:
//   { type: "start", id, env, bootstrap, connection, maxHeapMb }
//                                                      a worker for the launch `id`, its bootstrap posted on its port;
//                                                      the runner connects to the host for it (`connection`: its own
//                                                      routing id and CURVE keys) and relays its frames both ways
//   { type: "terminate", id }                          ends that worker (a hung one too: V8 stops its loop)
//   { type: "ping", seq }                              answered { type: "pong", seq }
// and reports { type: "started", id, threadId }, { type: "output", id, stream, chunk }, { type: "exit", id, code,
// reason? } and { type: "bad_message", reason } for an order it cannot follow (it goes on). What a worker posts on its
// port is ignored: a plugin cannot give the runner orders. When the host goes (even by kill -9) the IPC channel
// closes, and the runner exits with every thread in it.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MessageChannel, Worker } from "node:worker_threads";
import { Dealer } from "zeromq";

if (!process.send) {
  process.stderr.write("plugin thread runner: this process must be started by the neko-plugin host\n");
  process.exit(2);
}
const send = /** @type {(message: unknown) => void} */ (process.send.bind(process));
process.title = "neko-plugin: thread runner";
process.on("disconnect", () => process.exit(0));
if (!process.connected) process.exit(0);
process.on("SIGINT", () => undefined);

const THREAD_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), "plugin-thread.mjs");
const MAX_ID_CHARS = 128;
const ENV_NAME = /^NEKO_PLUGIN_[A-Z_]+$/;

/** @type {Map<string, Worker>} */
const workers = new Map();
/** Launches whose thread has exited and whose last output is draining: a terminate for one is not an unknown id. */
const draining = new Set();
/** Output of one thread the runner holds, not yet passed on to the host: above it, the thread is ended. */
const OUTPUT_HELD_BYTES = 32 * 1024 * 1024;
/** Frames of one thread waiting for its connection: above it, the thread is ended (a flood, not a plugin at work). */
const RELAY_PENDING_BYTES = positiveInt(process.env.NEKO_THREAD_RELAY_MAX_BYTES) ?? 64 * 1024 * 1024;

/** @param {string | undefined} value */
function positiveInt(value) {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** @param {string} reason */
function bad(reason) {
  send({ type: "bad_message", reason });
}

/** @param {unknown} id */
function validId(id) {
  return typeof id === "string" && id.length > 0 && id.length <= MAX_ID_CHARS;
}

/** @param {unknown} env */
function pluginEnv(env) {
  if (!env || typeof env !== "object" || Array.isArray(env)) return undefined;
  /** @type {Record<string, string>} */
  const own = {};
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name) || typeof value !== "string") return undefined;
    own[name] = value;
  }
  return own;
}

/** @param {Record<string, unknown>} message */
function start(message) {
  const { id, bootstrap, maxHeapMb } = message;
  if (!validId(id)) return bad("start: id must be a non-empty string of at most 128 characters");
  const launch = /** @type {string} */ (id);
  if (workers.has(launch)) return bad(`start: ${launch} is already running`);
  if (typeof bootstrap !== "string") return bad("start: bootstrap must be a string");
  if (!Number.isInteger(maxHeapMb) || /** @type {number} */ (maxHeapMb) <= 0) {
    return bad("start: maxHeapMb must be a positive integer");
  }
  const env = pluginEnv(message.env);
  if (env === undefined) return bad("start: env must map NEKO_PLUGIN_* names to strings");
  const connection = /** @type {{ endpoint?: unknown; routingId?: unknown; curve?: Record<string, unknown> }} */ (
    message.connection
  );
  if (
    !connection ||
    typeof connection.endpoint !== "string" ||
    typeof connection.routingId !== "string" ||
    (connection.curve !== undefined &&
      ["serverKey", "publicKey", "secretKey"].some((key) => typeof connection.curve?.[key] !== "string"))
  ) {
    return bad("start: connection must have an endpoint, a routingId and, if any, curve keys");
  }
  let worker;
  try {
    worker = new Worker(THREAD_ENTRY, {
      env: { ...process.env, ...env },
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: /** @type {number} */ (maxHeapMb) },
      name: env.NEKO_PLUGIN_ID ?? launch,
    });
  } catch (error) {
    send({ type: "exit", id: launch, code: 1, reason: `could not start the thread: ${String(error)}` });
    return;
  }
  workers.set(launch, worker);
  const { port1, port2 } = new MessageChannel();
  /** @type {string | undefined} */
  let reason;
  const socket = relay(port1, /** @type {any} */ (connection), () => {
    reason ??= `the thread sent frames faster than its connection takes them (over ${RELAY_PENDING_BYTES} bytes queued)`;
    void worker.terminate();
  });
  worker.postMessage({ bootstrap, port: port2 }, [port2]);
  send({ type: "started", id: launch, threadId: worker.threadId });
  // Backpressure: a stream is paused until the IPC channel has written what it gave, so a thread writing faster than
  // the host reads fills its own stream's buffer, in its own heap (max_heap_mb ends it), never the runner's memory.
  // What comes past the thread's own cap (plugin-thread.mjs; its stream's internals can skip it) piles up here while a
  // stream is paused: above OUTPUT_HELD_BYTES the thread is ended.
  const held = (/** @type {import("node:stream").Readable} */ readable) => {
    if (readable.readableLength <= OUTPUT_HELD_BYTES) return false;
    reason ??= `the thread wrote output past the runner's cap (over ${OUTPUT_HELD_BYTES} bytes not yet read)`;
    void worker.terminate();
    return true;
  };
  for (const stream of /** @type {const} */ (["stdout", "stderr"])) {
    const readable = worker[stream];
    readable.setEncoding("utf8");
    readable.on("data", (/** @type {string} */ chunk) => {
      if (held(readable)) return;
      readable.pause();
      try {
        process.send?.({ type: "output", id: launch, stream, chunk }, undefined, {}, () => {
          if (!held(readable)) readable.resume();
        });
      } catch {
        readable.resume();
      }
    });
  }
  worker.on("error", (error) => {
    const code = /** @type {NodeJS.ErrnoException} */ (error)?.code;
    reason =
      code === "ERR_WORKER_OUT_OF_MEMORY"
        ? `out of memory: the thread reached its heap limit (max_heap_mb = ${maxHeapMb})`
        : `the thread failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
  });
  worker.on("exit", (code) => {
    workers.delete(launch);
    draining.add(launch);
    port1.close();
    // Frames it sent last (its shutdown's answer, a load_failed) may still be queued: a second to leave.
    socket.linger = 1000;
    socket.close();
    // What the thread wrote last reaches the host before its exit does (bounded: a stream may never end).
    const ended = ["stdout", "stderr"].map(
      (stream) =>
        new Promise((resolve) => {
          const readable = worker[/** @type {"stdout" | "stderr"} */ (stream)];
          if (readable.readableEnded) resolve(undefined);
          else readable.once("end", resolve);
        }),
    );
    const bound = new Promise((resolve) => setTimeout(resolve, 500).unref());
    void Promise.race([Promise.all(ended), bound]).then(() => {
      draining.delete(launch);
      send({ type: "exit", id: launch, code, ...(reason !== undefined && { reason }) });
    });
  });
}

/**
 * The thread's connection to the host, made here so no ZeroMQ socket lives in a thread (terminating a thread with
 * one open aborts the process): frames from the thread's port go out as they are, frames from the host go to it.
 * @param {import("node:worker_threads").MessagePort} port
 * @param {{ endpoint: string; routingId: string; curve?: { serverKey: string; publicKey: string; secretKey: string } }} connection
 * @param {() => void} overflow called once when the thread's queued frames pass RELAY_PENDING_BYTES
 */
function relay(port, connection, overflow) {
  const { curve } = connection;
  const socket = new Dealer({
    linger: 0,
    // A bounded queue in ZeroMQ: a send waits when it is full, and what waits here is counted (RELAY_PENDING_BYTES).
    sendHighWaterMark: 1000,
    receiveHighWaterMark: 0,
    routingId: connection.routingId,
    ...(curve && { curveServerKey: curve.serverKey, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey }),
  });
  socket.connect(connection.endpoint);
  /** @type {Promise<unknown>} */
  let sending = Promise.resolve();
  let queued = 0;
  let overflowed = false;
  port.on("message", (frame) => {
    if (frame === "close") {
      port.close();
      return;
    }
    if (!(frame instanceof Uint8Array) || socket.closed || overflowed) return;
    if (queued + frame.byteLength > RELAY_PENDING_BYTES) {
      overflowed = true;
      port.close();
      overflow();
      return;
    }
    queued += frame.byteLength;
    sending = sending
      .then(() => (socket.closed ? undefined : socket.send(frame)))
      .catch(() => undefined)
      .finally(() => {
        queued -= frame.byteLength;
      });
  });
  void (async () => {
    try {
      for await (const [frame] of socket) port.postMessage(frame);
    } catch {
      // Closed: the thread has exited.
    }
  })();
  return socket;
}

process.on("message", (message) => {
  if (!message || typeof message !== "object" || Array.isArray(message)) return bad("a message must be an object");
  const order = /** @type {Record<string, unknown>} */ (message);
  switch (order.type) {
    case "start":
      return start(order);
    case "terminate": {
      if (!validId(order.id)) return bad("terminate: id must be a non-empty string of at most 128 characters");
      const worker = workers.get(/** @type {string} */ (order.id));
      if (worker) void worker.terminate();
      // An exited thread whose exit is on its way: that exit, with its reason, is the answer.
      else if (!draining.has(order.id)) send({ type: "exit", id: order.id, code: null, reason: "no such thread" });
      return;
    }
    case "ping":
      return send({ type: "pong", seq: order.seq });
    default:
      return bad(`unknown message type ${JSON.stringify(String(order.type)).slice(0, 80)}`);
  }
});
