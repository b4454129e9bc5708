/**
 * `GatewayStageReporter` (docs/adapters.md#metrics): carries each request's stage timings to the host, where they
 * show in `GET /plugin/metrics/{adapter_id}` and `/metrics`. Cheap on the request path: a request adds a few numbers
 * to arrays; the arrays go to the host in one `adapter.stage_timings` notification when `maxPending` requests are
 * waiting or `flushMs` after the first one, and on `dispose()`.
 */
import {
  GATEWAY_STAGES,
  type GatewayErrorCodeName,
  MAX_STAGE_SAMPLES,
  type ParamsIn,
  type PluginToHostNotifications,
} from "@neko/protocol";
import type { StageTimings } from "./gateway-models.ts";

/** What the core tells of every finished request. */
export interface GatewayMetricsSink {
  /** `code`: the gateway error code, or null for a success. */
  record(timings: StageTimings, code: GatewayErrorCodeName | null): void;
}

export type GatewayStageReport = ParamsIn<PluginToHostNotifications, "adapter.stage_timings">;

export interface StageReporterOptions {
  /** Requests held before a report goes at once (at most MAX_STAGE_SAMPLES; default 256). */
  maxPending?: number;
  /** How long the first held request waits for others before the report goes (default 250 ms). */
  flushMs?: number;
}

type Samples = Record<(typeof GATEWAY_STAGES)[number] | "total", number[]>;

export class GatewayStageReporter implements GatewayMetricsSink {
  private samples: Samples = emptySamples();
  private outcomes: GatewayStageReport["outcomes"] = {};
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxPending: number;
  private readonly flushMs: number;

  /** `send` delivers a report (the adapter's `ctx.bridge.notify("adapter.stage_timings", report)`). */
  constructor(
    private readonly send: (report: GatewayStageReport) => void,
    options: StageReporterOptions = {},
  ) {
    this.maxPending = Math.min(MAX_STAGE_SAMPLES, Math.max(1, options.maxPending ?? 256));
    this.flushMs = options.flushMs ?? 250;
  }

  record(timings: StageTimings, code: GatewayErrorCodeName | null): void {
    for (const stage of GATEWAY_STAGES) {
      const ms = timings[stage];
      if (ms !== undefined) this.samples[stage].push(ms);
    }
    this.samples.total.push(timings.total);
    const outcome = code ?? "ok";
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
    this.pending += 1;
    if (this.pending >= this.maxPending) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  /** Sends what is held now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending === 0) return;
    const stages = Object.fromEntries(Object.entries(this.samples).filter(([, list]) => list.length > 0));
    const report: GatewayStageReport = { stages, outcomes: this.outcomes };
    this.samples = emptySamples();
    this.outcomes = {};
    this.pending = 0;
    this.send(report);
  }

  dispose(): void {
    this.flush();
  }
}

function emptySamples(): Samples {
  return { normalize: [], policy: [], route: [], invoke: [], serialize: [], total: [] };
}
