/**
 * Sends on a ZeroMQ socket one at a time. zeromq.js allows a single send in progress: every 512 operations it
 * defers one send to the next event-loop turn, and a send issued meanwhile throws EBUSY synchronously. Chaining
 * each send on the previous one never hits that, at the cost of one microtask per send.
 */
import type { Dealer, Router } from "zeromq";

type Frames = Parameters<Dealer["send"]>[0];

export function serialSender(socket: Dealer | Router): (frames: Frames) => Promise<void> {
  let tail: Promise<void> = Promise.resolve();
  return (frames) => {
    const sent = tail.then(() => socket.send(frames));
    tail = sent.catch(() => undefined);
    return sent;
  };
}
