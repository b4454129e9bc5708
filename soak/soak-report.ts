/** The soak's report as text: what was sent and answered, the crash loop, the bus, and memory over the run. */
import { clock, mib, type SoakReport } from "./soak-run.ts";

export function formatSoakReport(r: SoakReport): string {
  const lines: string[] = [];
  const kinds = Object.entries(r.requests);
  const healthyTotal = kinds.reduce((n, [, c]) => n + c.ok + c.errors, 0);
  const rate = r.rate === null ? "as fast as answered" : `${r.rate} req/s`;
  lines.push(
    `soak: ${(r.durationS / 60).toFixed(1)} min${r.interrupted ? " (interrupted)" : ""}, ${r.connections} keep-alive connections, ${rate}`,
    `  started once every healthy plugin ran: ${r.startupS.toFixed(1)} s after the server was ready, ` +
      `${r.startupRestarts} restarts of theirs before that`,
    "",
    `requests (healthy plugins): ${healthyTotal} in all, ${(healthyTotal / r.durationS).toFixed(0)} req/s, ${r.healthyErrors} errors, ` +
      `${r.healthyRestarts} restarts`,
  );
  for (const [kind, c] of kinds) lines.push(`  ${kind.padEnd(8)} ${c.ok} ok, ${c.errors} errors${codes(c.byCode)}`);
  if (r.connectionErrors > 0) lines.push(`  socket errors and timeouts: ${r.connectionErrors}`);
  if (r.firstHealthyError) lines.push(`  first error: ${r.firstHealthyError}`);
  if (r.interrupted)
    lines.push("  (interrupted: Ctrl-C reaches the server too, so errors at the very end are it stopping)");
  lines.push(
    `  soak_echo:echo calls counted by GET /metrics: ${r.echoCallsCounted} (echo + relay answered: ${r.requests.echo.ok + r.requests.relay.ok})`,
    "",
    `crash-looping plugin: ${r.crasher.crashes} crashes, ${r.crasher.restarts} automatic restarts, ` +
      `${r.crasher.startedByHand} starts by hand after quarantine`,
    `  its calls: ${r.crasher.calls.ok} ok, ${r.crasher.calls.errors} errors${codes(r.crasher.calls.byCode)}`,
    "",
    `bus: ${r.bus.eventsPublished} events published, received ${Object.entries(r.bus.receivedBySubscriber)
      .map(([id, n]) => `${id} ${n}`)
      .join(", ")}; deliveries dropped ${r.bus.deliveriesDropped}`,
    `plugin socket: ${r.transport.connectionsRefused} connections refused, ${r.transport.framesDropped} frames dropped`,
    "",
    "host RSS over time:",
  );
  for (const s of r.memory) lines.push(`  ${clock(s.atS)}  ${mib(s.hostRssBytes)}  (heap ${mib(s.hostHeapUsedBytes)})`);
  const t = r.hostRss;
  lines.push(
    `  after ${t.warmupS.toFixed(0)} s of warm-up (${t.samples} samples): start ${mib(t.startBytes)}, min ${mib(t.minBytes)}, ` +
      `max ${mib(t.maxBytes)}, end ${mib(t.endBytes)}, slope ${t.slopeMiBPerMin.toFixed(2)} MiB/min`,
    "",
    "plugin processes' RSS (min–max over the samples):",
  );
  for (const [id, p] of Object.entries(r.pluginRss).sort()) {
    lines.push(`  ${id.padEnd(16)} ${mib(p.minBytes)} – ${mib(p.maxBytes)}`);
  }
  lines.push(
    "",
    `log folder at the end: ${r.logs.files} files, ${mib(r.logs.totalBytes)}, largest ${mib(r.logs.largestBytes)}`,
  );
  return lines.join("\n");
}

function codes(byCode: Record<string, number>): string {
  const list = Object.entries(byCode).map(([code, n]) => `${code} ${n}`);
  return list.length > 0 ? ` (${list.join(", ")})` : "";
}
