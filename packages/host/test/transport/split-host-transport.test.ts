/**
 * The host's two local transports side by side: each launch admitted on the transport chosen for its plugin, frames
 * of both reaching one handler, sends routed by peer id; and the host-wide default read from the environment.
 */
import assert from "node:assert/strict";
import { Duplex } from "node:stream";
import { test } from "node:test";
import { encodeStreamFrame, type HostToPlugin } from "@neko/protocol";
import { createSilentLogger } from "../../src/host-logger.ts";
import type { IncomingFrame } from "../../src/transport/host-transport.ts";
import {
  DEFAULT_LOCAL_TRANSPORT,
  isTransportKind,
  localTransportFromEnv,
} from "../../src/transport/local-transport-choice.ts";
import { MemoryHostTransport } from "../../src/transport/memory-host-transport.ts";
import { PipeHostTransport } from "../../src/transport/pipe-host-transport.ts";
import { SplitHostTransport } from "../../src/transport/split-host-transport.ts";

test("each plugin's launch is admitted on its chosen transport; frames of both arrive, sends go by peer id", async () => {
  const zmq = new MemoryHostTransport();
  const pipe = new PipeHostTransport({ logger: createSilentLogger() });
  const split = new SplitHostTransport(zmq, pipe, (id) => (id === "py" ? "zmq" : "pipe"));
  const frames: Array<{ peer: string; type: string | undefined }> = [];
  split.onFrame((frame: IncomingFrame) => frames.push({ peer: frame.peer, type: frame.decode()?.type }));
  assert.equal(split.endpoint, "memory://host");

  const onZmq = split.admit("py");
  const onPipe = split.admit("node");
  assert.equal(onZmq.connection.endpoint, "memory://host");
  assert.equal(onPipe.connection.endpoint, "pipe:5");
  assert.match(onPipe.peer, /^pipe:/);

  const written: Buffer[] = [];
  const stream = new Duplex({
    read() {},
    write(chunk, _encoding, callback) {
      written.push(chunk as Buffer);
      callback();
    },
  });
  onPipe.bindProcess(1, { stream, misbehaved: () => assert.fail("no misbehaviour") });
  const zmqPeer = zmq.connect(onZmq.connection);
  const toZmq: string[] = [];
  zmqPeer.onMessage((m) => toZmq.push(m.type));

  zmqPeer.send({ type: "pong" } as never);
  stream.push(encodeStreamFrame({ type: "hello" }));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(
    frames.sort((a, b) => a.type!.localeCompare(b.type!)),
    [
      { peer: onPipe.peer, type: "hello" },
      { peer: onZmq.peer, type: "pong" },
    ],
  );

  split.send(onZmq.peer, { type: "welcome" } as HostToPlugin);
  split.send(onPipe.peer, { type: "ping", id: "1" } as HostToPlugin);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(toZmq, ["welcome"]);
  assert.equal(written.length, 1);
  assert.deepEqual(written[0], encodeStreamFrame({ type: "ping", id: "1" }));
  await split.close();
  assert.equal(pipe.connected, 0);
});

test("the host-wide default: NEKO_PLUGIN_TRANSPORT when it names a transport, else pipe", () => {
  assert.equal(DEFAULT_LOCAL_TRANSPORT, "pipe");
  assert.equal(localTransportFromEnv({}), "pipe");
  assert.equal(localTransportFromEnv({ NEKO_PLUGIN_TRANSPORT: "zmq" }), "zmq");
  assert.equal(localTransportFromEnv({ NEKO_PLUGIN_TRANSPORT: " ZMQ " }), "zmq");
  assert.equal(localTransportFromEnv({ NEKO_PLUGIN_TRANSPORT: "pipe" }), "pipe");
  assert.equal(localTransportFromEnv({ NEKO_PLUGIN_TRANSPORT: "carrier-pigeon" }), "pipe");
  assert.equal(isTransportKind("zmq"), true);
  assert.equal(isTransportKind("tcp"), false);
});
