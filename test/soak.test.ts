/**
 * The soak (soak/soak-run.ts) for 30 s, as part of `npm test`: a `neko-plugin serve` process with healthy plugins under
 * 64 keep-alive connections, cross-plugin calls, bus traffic and a plugin that crash-loops the whole time. Healthy
 * plugins see no error, the crash loop really loops (crashes, restarts, quarantine, started by hand) and the plugin
 * socket refuses none of its launches, the counters of GET /metrics agree with the requests answered, and the host's
 * memory stays bounded after the warm-up. The load starts once the healthy plugins are running (a loaded machine can
 * make one miss its first handshake); from then on none of them may fail a request or restart.
 *
 * Rate-limited: at full speed the soak takes both cores the whole time, and the other test files running beside it
 * (timing-sensitive heartbeat and restart tests among them) would pay for it. `npm run soak` runs flat out, for 10
 * minutes by default. It ran 45 s at 300 requests/s here; it now sends the same 13 500 requests in 30 s at 450/s, so
 * as many come after the warm-up and the memory bound below catches the same leak per request, in 15 s less of the
 * suite (issue 15). (Faster falls short on a loaded machine: asked for 540/s and 675/s, the host answered 446–459/s.)
 * The crash loop goes round as often as in 45 s: each crasher process lives 0.75 s instead of 1.5 s (4 crashes are
 * needed; there were 10 in 30 s on a loaded machine).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatSoakReport } from "../soak/soak-report.ts";
import { runSoak } from "../soak/soak-run.ts";

const CONNECTIONS = 64;
const MiB = 2 ** 20;
/**
 * What the host's RSS may grow by after the warm-up (a third of the run). Measured at 300 requests/s: 144–149 MiB
 * after the warm-up, its heap swinging between 30 and 45 MiB with the collections. The bound leaves room for the bounded stores that may still
 * be filling (the bus `events` namespace keeps the latest 10 000 records, up to 32 MiB; each plugin's log buffer
 * 1 MiB; 500 finished runs) and twice that swing. A leak of more than about 7 KiB per request (some 9 000 requests
 * come after the warm-up, as in the 45 s run at 300/s) fails it; the 10-minute `npm run soak` and its RSS slope are for smaller ones.
 */
const HOST_RSS_GROWTH_BOUND = 64 * MiB;

// 30 s of load, up to 120 s before it for the healthy plugins to be running (runSoak's startupTimeoutMs), and the rest.
test("soak for 30 s: no healthy error, a real crash loop, agreeing counters, bounded host memory", {
  timeout: 240_000,
}, async (t) => {
  const report = await runSoak({
    durationMs: 30_000,
    connections: CONNECTIONS,
    rate: 450,
    // Every 2.5 s: some 9 samples after the 10 s warm-up, the last taken when the load stops.
    sampleEveryMs: 2500,
    crashAfterMs: 750,
    log: (line) => t.diagnostic(line),
  });
  t.diagnostic(formatSoakReport(report));

  const answered = report.requests.echo.ok + report.requests.relay.ok + report.requests.publish.ok;
  assert.equal(report.healthyErrors, 0, `first error: ${report.firstHealthyError}`);
  assert.equal(report.healthyRestarts, 0, "no healthy plugin restarted while the load ran");
  assert.ok(answered > 5000, `${answered} healthy requests answered`);
  for (const kind of ["echo", "relay", "publish"] as const) assert.ok(report.requests[kind].ok > 1000, kind);

  // The crash loop went on past its quarantine: two restarts by the policy, quarantine at the third crash, a start by
  // hand, and a fourth crash. (The fourth crash came 14 s in on a loaded machine, 7 crashes in 20 s; a loaded
  // machine slows each start.)
  assert.ok(report.crasher.crashes >= 4, `${report.crasher.crashes} crashes`);
  assert.ok(report.crasher.restarts >= 2, `${report.crasher.restarts} automatic restarts`);
  assert.ok(report.crasher.startedByHand >= 1, `${report.crasher.startedByHand} starts after quarantine`);
  assert.ok(report.crasher.calls.ok > 0 && report.crasher.calls.errors > 0, "its calls both succeeded and failed");

  // Every echo and every relay reached soak_echo:echo; requests still in flight when the load stopped reached it too
  // but were not counted as answered (at most one per connection and kind).
  const echoed = report.requests.echo.ok + report.requests.relay.ok;
  assert.ok(
    report.echoCallsCounted >= echoed && report.echoCallsCounted <= echoed + 2 * CONNECTIONS,
    `neko_plugin_calls_total ${report.echoCallsCounted}, answered ${echoed}`,
  );
  // At-most-once delivery, nothing dropped at this rate: every subscriber got every event.
  assert.equal(report.bus.deliveriesDropped, 0);
  for (const [id, received] of Object.entries(report.bus.receivedBySubscriber)) {
    assert.ok(
      received >= report.bus.eventsPublished && received <= report.bus.eventsPublished + 5 * CONNECTIONS,
      `${id} received ${received} of ${report.bus.eventsPublished}`,
    );
  }

  // Each of the crash loop's launches was admitted afresh and connected: the plugin socket refused none of them.
  assert.equal(report.transport.connectionsRefused, 0, "connections refused by the plugin socket");

  const rss = report.hostRss;
  assert.ok(rss.samples >= 6, `${rss.samples} samples after the warm-up`);
  assert.ok(
    rss.maxBytes - rss.startBytes <= HOST_RSS_GROWTH_BOUND,
    `host RSS grew ${((rss.maxBytes - rss.startBytes) / MiB).toFixed(1)} MiB after the warm-up`,
  );
  // The log folder (--log-dir) holds the host's file and one per plugin, each under its 10 MiB rotation size.
  assert.ok(report.logs.files >= 8, `${report.logs.files} log files`);
  assert.ok(report.logs.largestBytes <= 10 * MiB);
});
