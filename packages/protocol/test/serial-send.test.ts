import assert from "node:assert/strict";
import { test } from "node:test";
import { serialSend } from "../src/index.ts";

test("serialSend never has two sends in progress, keeps order, and survives a failed send", async () => {
  let busy = false;
  const delivered: number[] = [];
  // Like zeromq.js: a send while another is in progress throws EBUSY synchronously.
  const raw = (n: number): Promise<void> => {
    if (busy) throw new Error("EBUSY: Socket is busy writing");
    busy = true;
    return new Promise((resolve, reject) =>
      setImmediate(() => {
        busy = false;
        if (n === 3) reject(new Error("peer gone"));
        else {
          delivered.push(n);
          resolve();
        }
      }),
    );
  };
  assert.throws(() => Promise.all([raw(0), raw(0)]), /EBUSY/, "the stand-in behaves like the socket");
  await new Promise((r) => setImmediate(r));
  delivered.length = 0;
  const send = serialSend(raw);
  const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => send(i)));
  assert.deepEqual(delivered, [0, 1, 2, 4, 5, 6, 7]);
  assert.equal(results[3].status, "rejected");
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 7);
});
