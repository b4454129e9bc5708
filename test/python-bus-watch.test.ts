/**
 * The Python SDK's bus watches (packages/python-sdk/plugin/sdk/_bus_watch.py) and its handling of `bus.deliver`
 * (_runner.py), over a fake host link: what the runtime sends is recorded, `bus.watch` is answered after 10 ms.
 * - A watcher closed in the turn it was opened (on the loop or from a worker thread) sends nothing and leaves nothing;
 *   one closed while the host answers is closed when the answer comes; closing twice sends one `bus.unwatch`.
 * - Batches are handled at once and in order, acked at once; each watcher's changes reach its subscribers in order,
 *   one at a time, with the revision of the change, however slow a subscriber is (as the TypeScript SDK).
 * - A `max_count` given as a float with no fraction (2.0) trims the window as the host counts it (2).
 * The same through a real host: test/e2e/python-sdk-surface.e2e.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { PYTHON, PYTHON_SKIP } from "./support/python.ts";

const sdk = path.resolve(import.meta.dirname, "../packages/python-sdk");

const script = `
import asyncio, json, sys, threading, time, concurrent.futures
sys.path.insert(0, ${JSON.stringify(sdk)})
from plugin.sdk._runner import PluginRuntime
from plugin.sdk._bus_watch import BusRecordList

class Log:
    def __init__(self): self.lines = []
    def exception(self, *a): self.lines.append(a[0])
    def error(self, *a): self.lines.append(a[0])

class Runtime(PluginRuntime):
    """The runtime's bus half over a fake host link: what it sends is recorded; bus.watch is answered later."""
    def __init__(self, loop):
        self.loop = loop; self.background = set(); self.sent = []; self.host_watches = set()
        self.bus_watch_sinks = {}; self.bus_watch_open = set(); self.bus_watch_lock = threading.Lock()
        import collections
        self.bus_events = collections.deque(); self.bus_events_draining = False
        self.executor = concurrent.futures.ThreadPoolExecutor(4); self.logger = Log()
        self.registry_lock = threading.RLock(); self.bus_handlers = {}; self.watches = {}
    async def request_async(self, method, params, timeout_s=None):
        self.sent.append(method)
        await asyncio.sleep(0.01)
        self.host_watches.add(params["watchId"])
        return {"ok": True, "value": {"records": [], "revision": 1}}
    def notify(self, method, params):
        self.sent.append(f"{method} {params.get('batch', '')}".strip())
        if method == "bus.unwatch":
            self.host_watches.discard(params["watchId"])

async def main():
    out = {}
    loop = asyncio.get_running_loop()
    rt = Runtime(loop)
    listed = BusRecordList({"namespace": "events", "filters": {}, "revision": 1, "base": [], "runtime": rt})

    # 1. closed in the turn it was opened: nothing sent, nothing left (on the loop and from a worker thread).
    for _ in range(300):
        listed.watch().subscribe(lambda change: None)()
        w = listed.watch(); w.start(); w.close()
    await asyncio.sleep(0.1)
    out["same_turn"] = {"sent": list(rt.sent), "sinks": len(rt.bus_watch_sinks), "host": len(rt.host_watches)}
    # From a worker thread there is no "same turn": the loop is free and may send bus.watch before the close, which
    # then sends its bus.unwatch. Either way nothing is left open, at the host or here.
    def in_thread():
        for _ in range(50):
            listed.watch().subscribe(lambda change: None)()
    await loop.run_in_executor(None, in_thread)
    await asyncio.sleep(0.1)
    out["from_thread"] = {"balanced": rt.sent.count("bus.watch") == rt.sent.count("bus.unwatch"),
                          "sinks": len(rt.bus_watch_sinks), "host": len(rt.host_watches)}
    rt.sent.clear()
    # closed while the host answers: the watch is closed when the answer comes
    w = listed.watch(); w.subscribe(lambda change: None)
    await asyncio.sleep(0.001)
    w.close()
    await asyncio.sleep(0.05)
    out["closed_while_opening"] = {"sent": list(rt.sent), "sinks": len(rt.bus_watch_sinks), "host": len(rt.host_watches)}
    rt.sent.clear()
    # closing twice sends one unwatch
    w = listed.watch(); w.subscribe(lambda change: None); await w.ready()
    w.close(); w.close()
    out["close_twice"] = list(rt.sent)
    rt.sent.clear()

    # 2. order and revisions: a slow plain subscriber and an async one, two batches before any is handled
    w = listed.watch()
    seen = []
    def slow(change):
        seen.append(["slow", [r["id"] for r in change.added], [r["id"] for r in change.current], change.revision])
        if change.added[0]["id"] == 1:
            time.sleep(0.3)
    async def quick(change):
        seen.append(["quick", [r["id"] for r in change.added], [r["id"] for r in change.current], change.revision])
    w.subscribe(slow, on="add"); w.subscribe(quick, on="add")
    await w.ready()
    wid = w._watch_id
    events = []
    rt.bus_handlers["ping"] = [lambda payload, event: events.append(["event", payload])]
    rt._bus_deliver({"batch": 1, "deltas": [{"watchId": wid, "added": [{"id": 1}], "removed": [], "revision": 2}],
                     "events": [{"type": "ping", "payload": 1}]})
    rt._bus_deliver({"batch": 2, "deltas": [{"watchId": wid, "added": [{"id": 2}], "removed": [], "revision": 3}]})
    out["acks_at_once"] = list(rt.sent)
    out["current_at_once"] = [r["id"] for r in w.current]
    await asyncio.sleep(0.6)
    out["seen"] = seen
    out["events"] = events
    w.close()

    # 3. a max_count given as 2.0 trims as 2 (the host takes it as the whole number)
    window = BusRecordList({"namespace": "events", "filters": {"maxCount": 2.0}, "revision": 1, "base": [],
                            "runtime": rt}).watch()
    window.start()
    await window.ready()
    rt._bus_deliver({"batch": 3, "deltas": [{"watchId": window._watch_id, "revision": 4,
                                             "added": [{"id": 7}, {"id": 8}, {"id": 9}], "removed": []}]})
    out["window"] = [r["id"] for r in window.current]
    window.close()
    out["logged"] = rt.logger.lines
    print(json.dumps(out))

asyncio.run(main())
`;

test("Python bus watches: no leak when closed early, changes in order with their revisions, acks at once", {
  skip: PYTHON_SKIP,
}, () => {
  const run = spawnSync(PYTHON!, ["-B", "-c", script], { encoding: "utf8", timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout);
  assert.deepEqual(out.same_turn, { sent: [], sinks: 0, host: 0 }, "600 watchers closed in their turn sent nothing");
  assert.deepEqual(out.from_thread, { balanced: true, sinks: 0, host: 0 }, "50 from a thread left nothing open");
  assert.deepEqual(out.closed_while_opening, { sent: ["bus.watch", "bus.unwatch"], sinks: 0, host: 0 });
  assert.deepEqual(out.close_twice, ["bus.watch", "bus.unwatch"]);
  assert.deepEqual(
    out.acks_at_once,
    ["bus.watch", "bus.ack 1", "bus.ack 2"],
    "both batches acked before any subscriber ended",
  );
  assert.deepEqual(out.current_at_once, [1, 2]);
  assert.deepEqual(out.seen, [
    ["slow", [1], [1], 2],
    ["quick", [1], [1], 2],
    ["slow", [2], [1, 2], 3],
    ["quick", [2], [1, 2], 3],
  ]);
  assert.deepEqual(out.events, [["event", 1]]);
  assert.deepEqual(out.window, [8, 9], "max_count=2.0 keeps the latest two");
  assert.deepEqual(out.logged, []);
});
