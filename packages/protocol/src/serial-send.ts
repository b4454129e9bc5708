/**
 * One send at a time on a socket. zeromq.js allows a single send in progress per socket: now and then (every 512
 * operations) it defers a send to the next event-loop turn, and a send issued meanwhile throws EBUSY. Chaining each
 * send on the previous one never hits that, at the cost of one microtask per send. Generic over the frame type so
 * this package stays free of zeromq.
 */
export function serialSend<F>(send: (frames: F) => Promise<void>): (frames: F) => Promise<void> {
  let tail: Promise<void> = Promise.resolve();
  return (frames) => {
    const sent = tail.then(() => send(frames));
    tail = sent.catch(() => undefined);
    return sent;
  };
}
