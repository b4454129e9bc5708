/** The ZeroMQ ROUTER over a real ipc:// socket, with a raw DEALER standing in for a plugin process. */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { encodeFrame } from "@neko/protocol";
import { Dealer } from "zeromq";
import { createSilentLogger } from "../../src/host-logger.ts";
import type { IncomingFrame } from "../../src/transport/host-transport.ts";
import { MAX_FRAME_BYTES, ZmqHostTransport } from "../../src/transport/zmq-host-transport.ts";

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-transport-"));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function waitUntil(probe: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("a frame handler that throws is logged, and the frames after it still arrive", async () => {
  const errors: unknown[] = [];
  const logger = createSilentLogger();
  logger.error = ((fields: { err: unknown }) => errors.push(fields.err)) as typeof logger.error;
  const transport = await ZmqHostTransport.bind(`ipc://${path.join(dir, "throwing.sock")}`, { logger });
  const seen: string[] = [];
  transport.onFrame((frame: IncomingFrame) => {
    if (frame.message?.type === "boom") throw new Error("handler bug");
    seen.push(frame.message?.type ?? "?");
  });
  const dealer = new Dealer({ linger: 0 });
  dealer.connect(transport.endpoint);
  try {
    await dealer.send(encodeFrame({ type: "boom" }));
    await dealer.send(encodeFrame({ type: "after" }));
    await waitUntil(() => seen.length === 1, "the frame after the failing one");
    assert.deepEqual(seen, ["after"]);
    assert.match(String(errors[0]), /handler bug/);
  } finally {
    dealer.close();
    await transport.close();
  }
});

test("a frame above MAX_FRAME_BYTES never reaches the host; other peers go on", async () => {
  const transport = await ZmqHostTransport.bind(`ipc://${path.join(dir, "oversized.sock")}`, {
    logger: createSilentLogger(),
  });
  const sizes: number[] = [];
  transport.onFrame((frame) => sizes.push(frame.message ? 0 : -1));
  const hostile = new Dealer({ linger: 0 });
  const friendly = new Dealer({ linger: 0 });
  hostile.connect(transport.endpoint);
  friendly.connect(transport.endpoint);
  try {
    await hostile.send(Buffer.alloc(MAX_FRAME_BYTES + 1024, 0xc1));
    // Time for 64 MiB to cross an ipc socket many times over, had it been let through.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(sizes, [], "the oversized frame was not delivered");
    await friendly.send(encodeFrame({ type: "small" }));
    await waitUntil(() => sizes.length === 1, "a frame from another peer");
    assert.deepEqual(sizes, [0]);
  } finally {
    hostile.close();
    friendly.close();
    await transport.close();
  }
});
