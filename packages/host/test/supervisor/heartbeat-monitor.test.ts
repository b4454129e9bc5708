/** The heartbeat judges a plugin's silence only over time the host itself was listening. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { HeartbeatMonitor } from "../../src/supervisor/heartbeat-monitor.ts";

function monitor() {
  let now = 1_000_000;
  let lastPong = now;
  const pings: number[] = [];
  const verdicts: number[] = [];
  const heartbeat = new HeartbeatMonitor(
    {
      intervalMs: 100,
      missesAllowed: 3,
      sendPing: () => pings.push(now),
      lastPongAt: () => lastPong,
      onUnresponsive: (silentMs) => verdicts.push(silentMs),
    },
    () => now,
  );
  heartbeat.start();
  heartbeat.stop(); // the test drives the ticks itself
  return {
    heartbeat,
    pings,
    verdicts,
    advance(ms: number) {
      now += ms;
      heartbeat.tick();
    },
    pong() {
      lastPong = now;
    },
  };
}

test("a plugin silent for more than three intervals of a listening host is unresponsive", () => {
  const m = monitor();
  m.advance(100);
  m.advance(100);
  m.advance(100);
  assert.deepEqual(m.verdicts, [], "three intervals of silence are allowed");
  m.advance(100);
  assert.deepEqual(m.verdicts, [400]);
  assert.equal(m.heartbeat.stalls, 0);
});

test("a plugin that answers is never judged", () => {
  const m = monitor();
  for (let i = 0; i < 20; i++) {
    m.advance(100);
    m.pong();
  }
  assert.deepEqual(m.verdicts, []);
  assert.equal(m.pings.length, 21);
});

test("a host that was stalled itself does not blame the plugin for the pongs it did not read", () => {
  const m = monitor();
  // The host's event loop is blocked for 2 s: the next tick comes 1.9 s late, with the pongs still unread.
  m.advance(2000);
  assert.deepEqual(m.verdicts, [], "no verdict on the stall's silence");
  assert.equal(m.heartbeat.stalls, 1);
  assert.equal(m.pings.length, 2, "a fresh ping went out");
  // The plugin is judged again from then on: it answers, and it is fine.
  m.advance(100);
  m.pong();
  m.advance(100);
  assert.deepEqual(m.verdicts, []);
});

test("after a stall, a plugin that really is silent is still found out, three intervals later", () => {
  const m = monitor();
  m.advance(2000);
  m.advance(100);
  m.advance(100);
  m.advance(100);
  assert.deepEqual(m.verdicts, []);
  m.advance(100);
  assert.deepEqual(m.verdicts, [400]);
});
