/**
 * Child process of the ZeroMQ floor (started by zmq-floor.ts): a DEALER, set up like a plugin's, that says hello
 * once and answers every call frame with a result frame. No SDK, no validation, no timers: socket and msgpack only.
 */
import { decodeFrame, encodeFrame } from "@neko/protocol";
import { Dealer } from "zeromq";
import { benchResultMessage } from "./bench-payload.ts";
import { serialSend } from "@neko/protocol";

const endpoint = process.argv[2];
if (!endpoint) {
  process.stderr.write("usage: zmq-echo-peer.ts <endpoint>\n");
  process.exit(2);
}

const socket = new Dealer({ linger: 0, sendHighWaterMark: 0, receiveHighWaterMark: 0 });
// Our parent holds the IPC channel: when it goes (even by kill -9), so do we.
process.on("disconnect", () => {
  socket.close();
  process.exit(0);
});
socket.connect(endpoint);
const send = serialSend((frames: Buffer | Buffer[]) => socket.send(frames));
await send(encodeFrame({ type: "hello" }));

try {
  for await (const [frame] of socket) {
    const message = decodeFrame(frame);
    if (message?.type !== "call" || typeof message.id !== "string") continue;
    // Not awaited, as in the plugin transport: the next call is read while this answer goes out.
    send(encodeFrame(benchResultMessage({ id: message.id, args: message.args }))).catch(() => undefined);
  }
} catch {
  // The socket was closed: we are exiting.
}
