/**
 * The soak (docs/operations.md#soak): a `neko-plugin serve` process with the soak plugins, driven for a while by
 * 64 keep-alive connections of `POST /plugin/trigger` (an echo, a cross-plugin relay, a bus publish with three
 * subscribers, in turn), one plugin that crashes on purpose a moment after each start (started again by hand whenever
 * the restart policy quarantines it, so it crash-loops for the whole run), and a scrape of `GET /metrics` every few
 * seconds for the host's and the plugins' memory. Everything it starts is stopped and removed when it returns, whether
 * the run ended, failed or was aborted.
 */
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import autocannon from "autocannon";
import { makeTempDir } from "../test/support/plugin-fixtures.ts";
import { parsePrometheusText } from "../test/support/prometheus-parser.ts";
import { startSoakServer, type SoakServer } from "./soak-server.ts";
import { CRASHER_ID, EVENTS_PER_PUBLISH, HEALTHY_IDS, SUBSCRIBER_IDS, writeSoakPlugins } from "./soak-plugins.ts";

export interface SoakOptions {
  durationMs: number;
  /** Keep-alive connections sending `POST /plugin/trigger` (default 64). */
  connections?: number;
  /** Requests per second over all connections; default: as fast as the server answers. */
  rate?: number;
  /** How often `GET /metrics` is read (default 10 s). */
  sampleEveryMs?: number;
  /**
   * How long the healthy plugins may take to be `running` before the load starts (default 120 s); past it the soak
   * fails, naming them. On a loaded machine a plugin can miss its 20 s handshake and be started again by the restart
   * policy: the soak measures the plugins under load, not their start.
   */
  startupTimeoutMs?: number;
  /** How long each process of the crash-looping plugin lives after its start (default 1.5 s). */
  crashAfterMs?: number;
  signal?: AbortSignal;
  /** Progress lines (one per sample). */
  log?: (line: string) => void;
}

export interface Counts {
  ok: number;
  errors: number;
  /** Error answers by `error.code` (or `HTTP <status>`). */
  byCode: Record<string, number>;
}

export interface MemorySample {
  atS: number;
  hostRssBytes: number;
  hostHeapUsedBytes: number;
  hostLoopLagMs: number;
  /** RSS of each running plugin process (absent: not running or not reported yet). */
  pluginRssBytes: Record<string, number>;
}

export interface MemoryTrend {
  /** Samples taken after the warm-up. */
  samples: number;
  warmupS: number;
  /** RSS at the first sample after the warm-up. */
  startBytes: number;
  minBytes: number;
  maxBytes: number;
  endBytes: number;
  /** Least-squares slope over the samples after the warm-up, in MiB per minute. */
  slopeMiBPerMin: number;
}

export interface SoakReport {
  /** From the server's "ready" to every healthy plugin running, when the load starts. */
  startupS: number;
  /** Automatic restarts of healthy plugins before the load started (a missed handshake on a loaded machine). */
  startupRestarts: number;
  /** Automatic restarts of healthy plugins while the load ran (-1: not read); each would have failed requests. */
  healthyRestarts: number;
  durationS: number;
  interrupted: boolean;
  connections: number;
  rate: number | null;
  /** The healthy plugins' requests over HTTP, by kind. */
  requests: Record<"echo" | "relay" | "publish", Counts>;
  /** Socket errors and timeouts of the healthy load (autocannon's). */
  connectionErrors: number;
  healthyErrors: number;
  firstHealthyError: string | null;
  crasher: { calls: Counts; restarts: number; crashes: number; startedByHand: number };
  bus: { eventsPublished: number; receivedBySubscriber: Record<string, number>; deliveriesDropped: number };
  /**
   * The plugin socket at the end: connections it refused and frames it dropped unread (-1: not read). Every launch of
   * the crash loop is admitted afresh, so a refusal means one of them could not connect.
   */
  transport: { connectionsRefused: number; framesDropped: number };
  /** `neko_plugin_calls_total` of soak_echo:echo at the end: every echo request and every relay reached it. */
  echoCallsCounted: number;
  memory: MemorySample[];
  hostRss: MemoryTrend;
  pluginRss: Record<string, { minBytes: number; maxBytes: number }>;
  /** What the log folder held at the end, and its largest file. */
  logs: { files: number; totalBytes: number; largestBytes: number };
  serverStderrTail: string[];
}

const TRIGGERS = {
  echo: { plugin_id: "soak_echo", entry_id: "echo", args: { text: "soak", n: 1 } },
  relay: { plugin_id: "soak_caller", entry_id: "relay", args: { text: "relayed", n: 2 } },
  publish: { plugin_id: "soak_publisher", entry_id: "publish", args: {} },
} as const;
type Kind = keyof typeof TRIGGERS;

const JSON_HEADERS = { "content-type": "application/json" };

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const connections = options.connections ?? 64;
  const sampleEveryMs = options.sampleEveryMs ?? 10_000;
  const log = options.log ?? (() => undefined);
  const pluginsDir = makeTempDir("neko-soak-plugins-");
  const logDir = makeTempDir("neko-soak-logs-");
  let server: SoakServer | undefined;
  try {
    writeSoakPlugins(pluginsDir, options.crashAfterMs);
    server = await startSoakServer({ pluginsDir, logDir });
    log(`server ${server.url} (pid ${server.pid}); logs in ${logDir}`);
    const startup = await healthyPluginsRunning(server.url, options.startupTimeoutMs ?? 120_000, options.signal);
    if (startup.seconds > 0.5 || startup.restarts > 0) {
      log(`healthy plugins running after ${startup.seconds.toFixed(1)} s more (${startup.restarts} restarts)`);
    }
    const { healthyRestartsAtEnd, ...report } = await drive({
      ...options,
      connections,
      sampleEveryMs,
      log,
      server,
      logDir,
    });
    return {
      startupS: startup.seconds,
      startupRestarts: startup.restarts,
      healthyRestarts: healthyRestartsAtEnd < 0 ? -1 : healthyRestartsAtEnd - startup.restarts,
      ...report,
    };
  } finally {
    await server?.stop();
    fs.rmSync(pluginsDir, { recursive: true, force: true });
    fs.rmSync(logDir, { recursive: true, force: true });
  }
}

/**
 * Waits until every healthy plugin is `running`: `serve` is ready once each start has been tried, and on a loaded
 * machine one may have missed its handshake and be waiting for its restart. Throws, naming them, past the deadline.
 */
async function healthyPluginsRunning(
  url: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ seconds: number; restarts: number }> {
  type Listed = { id: string; status: string; status_reason?: string | null };
  const started = performance.now();
  for (;;) {
    const res = await fetch(`${url}/plugins`).catch(() => undefined);
    const plugins = res?.ok ? ((await res.json()) as { plugins: Listed[] }).plugins : [];
    const notRunning = HEALTHY_IDS.map(
      (id): Listed => plugins.find((p) => p.id === id) ?? { id, status: "absent" },
    ).filter((p) => p.status !== "running");
    const seconds = (performance.now() - started) / 1000;
    if (notRunning.length === 0) {
      const m = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
      const restarts = HEALTHY_IDS.map((id) => m.value("neko_plugin_restarts_total", { plugin: id }) ?? 0);
      return { seconds, restarts: restarts.reduce((a, b) => a + b, 0) };
    }
    if (seconds * 1000 > timeoutMs || signal?.aborted) {
      const states = notRunning.map((p) => `${p.id} ${p.status}${p.status_reason ? ` (${p.status_reason})` : ""}`);
      throw new Error(
        `healthy plugins not running ${seconds.toFixed(0)} s after serve was ready: ${states.join("; ")}`,
      );
    }
    await sleep(250);
  }
}

async function drive(
  options: SoakOptions & { connections: number; sampleEveryMs: number; log: (line: string) => void } & {
    server: SoakServer;
    logDir: string;
  },
): Promise<Omit<SoakReport, "startupS" | "startupRestarts" | "healthyRestarts"> & { healthyRestartsAtEnd: number }> {
  const { server, log } = options;
  const url = server.url;
  const started = performance.now();
  const elapsedS = () => (performance.now() - started) / 1000;
  // Ends every driver: the time is up, or the caller aborted.
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), options.durationMs);
  const onAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });

  const requests = { echo: counts(), relay: counts(), publish: counts() };
  let firstHealthyError: string | null = null;
  const crasher = { calls: counts(), startedByHand: 0 };
  const memory: MemorySample[] = [];
  let latest = { restarts: 0, crashes: 0 };

  const load = autocannon({
    url,
    connections: options.connections,
    duration: Math.max(1, Math.ceil(options.durationMs / 1000)),
    ...(options.rate !== undefined && { overallRate: options.rate }),
    // Longer than an entry's own 30 s deadline, so a lost call shows as a 504, not a dropped connection.
    timeout: 40,
    requests: (Object.keys(TRIGGERS) as Kind[]).map((kind) => ({
      method: "POST",
      path: "/plugin/trigger",
      headers: JSON_HEADERS,
      body: JSON.stringify(TRIGGERS[kind]),
      onResponse: (status: number, body: string) => {
        if (status === 200) {
          requests[kind].ok += 1;
          return;
        }
        const code = errorCode(status, body);
        count(requests[kind], code);
        firstHealthyError ??= `${kind}: HTTP ${status} ${body.slice(0, 300)}`;
      },
    })),
  });
  stop.signal.addEventListener("abort", () => load.stop(), { once: true });

  // The crash-looping plugin: called every 250 ms, and started by hand whenever it is quarantined.
  const crasherCalls = (async () => {
    while (!stop.signal.aborted) {
      const res = await post(url, "/plugin/trigger", { plugin_id: CRASHER_ID, entry_id: "ping", args: {} });
      if (res.status === 200) crasher.calls.ok += 1;
      else count(crasher.calls, errorCode(res.status, res.text));
      await sleep(250, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  })();
  const crasherKeeper = (async () => {
    while (!stop.signal.aborted) {
      const res = await fetch(`${url}/plugins/${CRASHER_ID}`).catch(() => undefined);
      const status = res?.ok ? ((await res.json()) as { status: string }).status : undefined;
      if (status === "quarantined") {
        crasher.startedByHand += 1;
        await post(url, `/plugin/${CRASHER_ID}/start`, {});
      }
      await sleep(500, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  })();
  const sampler = (async () => {
    while (!stop.signal.aborted) {
      const sample = await scrape(url, elapsedS()).catch(() => undefined);
      if (sample) {
        memory.push(sample.memory);
        latest = sample.crasher;
        const healthy = sum(requests);
        log(
          `${clock(sample.memory.atS)} host RSS ${mib(sample.memory.hostRssBytes)}, heap ${mib(sample.memory.hostHeapUsedBytes)}, ` +
            `loop lag ${sample.memory.hostLoopLagMs.toFixed(1)} ms | ${healthy.ok + healthy.errors} requests, ` +
            `${healthy.errors} errors | crasher: ${latest.crashes} crashes, ${latest.restarts} restarts, ` +
            `${crasher.startedByHand} started by hand | plugins RSS ${rssRange(sample.memory.pluginRssBytes)}`,
        );
      }
      await sleep(options.sampleEveryMs, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  })();

  const result = await load;
  stop.abort();
  clearTimeout(timer);
  options.signal?.removeEventListener("abort", onAbort);
  await Promise.all([crasherCalls, crasherKeeper, sampler]);
  const durationS = elapsedS();

  // Deliveries still on their way land within a moment; then every subscriber says what it got.
  await sleep(1000);
  const receivedBySubscriber: Record<string, number> = {};
  for (const id of SUBSCRIBER_IDS) {
    const res = await post(url, "/plugin/trigger", { plugin_id: id, entry_id: "received", args: {} });
    receivedBySubscriber[id] = res.status === 200 ? (JSON.parse(res.text) as { data: number }).data : -1;
  }
  // After Ctrl-C the server may be gone already (the terminal signals it too): the report keeps what was measured.
  const final = await fetch(`${url}/metrics`)
    .then(async (res) => parsePrometheusText(await res.text()))
    .catch(() => undefined);
  const finalSample = await scrape(url, elapsedS()).catch(() => undefined);
  if (finalSample) memory.push(finalSample.memory);
  const healthyErrors = sum(requests).errors + result.errors;
  const warmupS = Math.min(60, durationS / 3);
  return {
    durationS,
    interrupted: options.signal?.aborted ?? false,
    connections: options.connections,
    rate: options.rate ?? null,
    requests,
    connectionErrors: result.errors,
    healthyErrors,
    firstHealthyError,
    crasher: { ...crasher, ...(finalSample?.crasher ?? latest) },
    bus: {
      eventsPublished: requests.publish.ok * EVENTS_PER_PUBLISH,
      receivedBySubscriber,
      deliveriesDropped: final?.value("neko_bus_deliveries_dropped_total") ?? -1,
    },
    transport: {
      connectionsRefused: final?.value("neko_transport_connections_refused_total") ?? -1,
      framesDropped: final?.value("neko_transport_frames_dropped_total") ?? -1,
    },
    echoCallsCounted: final?.value("neko_plugin_calls_total", { plugin: "soak_echo", entry: "echo" }) ?? -1,
    healthyRestartsAtEnd: final
      ? HEALTHY_IDS.reduce((n, id) => n + (final.value("neko_plugin_restarts_total", { plugin: id }) ?? 0), 0)
      : -1,
    memory,
    hostRss: trend(memory, warmupS),
    pluginRss: pluginRanges(memory),
    logs: logFolder(options.logDir),
    serverStderrTail: server.stderrTail,
  };
}

async function scrape(url: string, atS: number) {
  const m = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
  const pluginRssBytes: Record<string, number> = {};
  for (const s of m.samples("neko_plugin_resident_memory_bytes")) pluginRssBytes[s.labels.plugin as string] = s.value;
  return {
    memory: {
      atS,
      hostRssBytes: m.value("neko_host_resident_memory_bytes") ?? 0,
      hostHeapUsedBytes: m.value("neko_host_heap_used_bytes") ?? 0,
      hostLoopLagMs: (m.value("neko_host_event_loop_lag_seconds") ?? 0) * 1000,
      pluginRssBytes,
    },
    crasher: {
      restarts: m.value("neko_plugin_restarts_total", { plugin: CRASHER_ID }) ?? 0,
      crashes: m.value("neko_plugin_crashes_total", { plugin: CRASHER_ID }) ?? 0,
    },
  };
}

async function post(url: string, route: string, body: unknown): Promise<{ status: number; text: string }> {
  try {
    const res = await fetch(url + route, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify(body) });
    return { status: res.status, text: await res.text() };
  } catch (error) {
    return { status: 0, text: JSON.stringify({ error: { code: `FETCH_FAILED: ${(error as Error).message}` } }) };
  }
}

function counts(): Counts {
  return { ok: 0, errors: 0, byCode: {} };
}

function count(c: Counts, code: string): void {
  c.errors += 1;
  c.byCode[code] = (c.byCode[code] ?? 0) + 1;
}

function sum(byKind: Record<string, Counts>): { ok: number; errors: number } {
  const all = Object.values(byKind);
  return { ok: all.reduce((n, c) => n + c.ok, 0), errors: all.reduce((n, c) => n + c.errors, 0) };
}

function errorCode(status: number, body: string): string {
  try {
    const code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
    if (code) return code;
  } catch {
    // not JSON: the status says enough
  }
  return `HTTP ${status}`;
}

/** The host's RSS after the warm-up: where it started, its range, where it ended, and its least-squares slope. */
export function trend(samples: MemorySample[], warmupS: number): MemoryTrend {
  const after = samples.filter((s) => s.atS >= warmupS);
  const used = after.length > 0 ? after : samples.slice(-1);
  const rss = used.map((s) => s.hostRssBytes);
  const n = used.length;
  const meanT = used.reduce((a, s) => a + s.atS, 0) / n;
  const meanR = rss.reduce((a, r) => a + r, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of used) {
    num += (s.atS - meanT) * (s.hostRssBytes - meanR);
    den += (s.atS - meanT) ** 2;
  }
  const slopeBytesPerS = den > 0 ? num / den : 0;
  return {
    samples: n,
    warmupS,
    startBytes: rss[0] ?? 0,
    minBytes: Math.min(...rss),
    maxBytes: Math.max(...rss),
    endBytes: rss.at(-1) ?? 0,
    slopeMiBPerMin: (slopeBytesPerS * 60) / 2 ** 20,
  };
}

function pluginRanges(samples: MemorySample[]): Record<string, { minBytes: number; maxBytes: number }> {
  const ranges: Record<string, { minBytes: number; maxBytes: number }> = {};
  for (const s of samples) {
    for (const [id, rss] of Object.entries(s.pluginRssBytes)) {
      const r = ranges[id];
      ranges[id] = r
        ? { minBytes: Math.min(r.minBytes, rss), maxBytes: Math.max(r.maxBytes, rss) }
        : { minBytes: rss, maxBytes: rss };
    }
  }
  return ranges;
}

function logFolder(dir: string): SoakReport["logs"] {
  const sizes: number[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else sizes.push(fs.statSync(full).size);
    }
  };
  walk(dir);
  return { files: sizes.length, totalBytes: sizes.reduce((a, b) => a + b, 0), largestBytes: Math.max(0, ...sizes) };
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

export function clock(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function rssRange(byPlugin: Record<string, number>): string {
  const values = Object.values(byPlugin);
  if (values.length === 0) return "not reported yet";
  return `${mib(Math.min(...values))}–${mib(Math.max(...values))} (${values.length} processes)`;
}
