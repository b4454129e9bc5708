import {
  type AroundHookContext,
  aroundEntry,
  type BeforeHookContext,
  beforeEntry,
  Err,
  lifecycle,
  NekoPluginBase,
  nekoPlugin,
  Ok,
  pluginEntry,
  SdkError,
  timerInterval,
} from "@neko/plugin-sdk/plugin";

interface EntryStats {
  calls: number;
  errors: number;
  totalMs: number;
  maxMs: number;
}

/** Every entry call is timed by one around hook on "*"; a timer publishes the figures with reportStatus. */
@nekoPlugin
export class MonitoredPlugin extends NekoPluginBase {
  private readonly stats = new Map<string, EntryStats>();
  private startedAt = 0;
  private reports = 0;

  @lifecycle({ id: "startup" })
  onStartup() {
    this.startedAt = Date.now();
    this.publish();
  }

  /** Outermost (lowest priority), so the time includes every other hook. */
  @aroundEntry({ target: "*", priority: -100 })
  async measure({ entryId, proceed }: AroundHookContext) {
    const started = performance.now();
    const result = await proceed();
    const ms = performance.now() - started;
    const s = this.stats.get(entryId) ?? { calls: 0, errors: 0, totalMs: 0, maxMs: 0 };
    s.calls += 1;
    s.errors += result.ok ? 0 : 1;
    s.totalMs += ms;
    s.maxMs = Math.max(s.maxMs, ms);
    this.stats.set(entryId, s);
    return result;
  }

  /** Refuses work that would run past the entry's own timeout before it starts. */
  @beforeEntry({ target: "work", condition: "args.ms > 10000" })
  tooLong({ args }: BeforeHookContext) {
    return Err(new SdkError(`work of ${String(args.ms)} ms is longer than the 10 s timeout`, { code: "TOO_LONG" }));
  }

  @timerInterval({ id: "report", seconds: 2, name: "Report call statistics" })
  report() {
    this.publish();
  }

  @pluginEntry({
    id: "work",
    description: "Sleep for `ms` milliseconds, then answer",
    inputSchema: {
      type: "object",
      properties: { ms: { type: "integer", minimum: 0, default: 50 } },
      additionalProperties: false,
    },
    timeout: 10,
  })
  async work({ ms }: { ms: number }, ctx: { signal: AbortSignal }) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return Ok({ slept_ms: ms });
  }

  @pluginEntry({ id: "fail", description: "Always fails, so the error count moves" })
  fail() {
    return Err(new SdkError("this entry always fails", { code: "ALWAYS_FAILS" }));
  }

  @pluginEntry({
    id: "stats",
    description: "Call count, error count and durations per entry",
    llmResultFields: ["entries"],
  })
  statistics() {
    return Ok(this.snapshot());
  }

  private snapshot() {
    const entries = Object.fromEntries(
      [...this.stats].map(([id, s]) => [
        id,
        { calls: s.calls, errors: s.errors, avg_ms: round(s.totalMs / s.calls), max_ms: round(s.maxMs) },
      ]),
    );
    const calls = [...this.stats.values()].reduce((n, s) => n + s.calls, 0);
    const errors = [...this.stats.values()].reduce((n, s) => n + s.errors, 0);
    return { uptime_s: Math.round((Date.now() - this.startedAt) / 1000), calls, errors, entries };
  }

  private publish() {
    this.reports += 1;
    const status = this.reportStatus({ ...this.snapshot(), reports: this.reports });
    if (!status.ok) this.logger.warn(status.error.message);
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
