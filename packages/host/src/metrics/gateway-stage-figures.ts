/**
 * One adapter's gateway figures (docs/adapters.md#metrics), from the `adapter.stage_timings` reports its gateway
 * sends: requests by outcome, and per stage of the pipeline (and in total) a percentile window and a histogram of
 * durations. Bounded: the stages and outcomes are fixed lists, the windows fixed rings.
 */
import { GATEWAY_OUTCOMES, GATEWAY_STAGES, type ParamsOut, type PluginToHostNotifications } from "@neko/protocol";
import { type HistogramSnapshot, LatencyHistogram } from "./latency-histogram.ts";
import { type LatencySummary, LatencyWindow } from "./latency-window.ts";

type StageName = (typeof GATEWAY_STAGES)[number] | "total";
type Outcome = (typeof GATEWAY_OUTCOMES)[number];
export type GatewayStageReport = ParamsOut<PluginToHostNotifications, "adapter.stage_timings">;

export interface GatewayStageView extends LatencySummary {
  /** Requests that ran the stage. */
  count: number;
}

export interface GatewayMetricsView {
  requests: number;
  /** Requests by how they ended: `ok` or a gateway error code. */
  outcomes: Partial<Record<Outcome, number>>;
  /** Only the stages that ran at least once; `total` is the whole request. */
  stages: Partial<Record<StageName, GatewayStageView>>;
}

export interface GatewaySnapshot {
  outcomes: Partial<Record<Outcome, number>>;
  stages: { stage: StageName; latency: HistogramSnapshot }[];
}

const STAGE_NAMES: readonly StageName[] = [...GATEWAY_STAGES, "total"];
/** Longer durations (a clock jump, a bad report) are recorded as this, so percentiles stay finite. */
const MAX_DURATION_MS = 24 * 3600 * 1000;

interface StageFigures {
  count: number;
  window: LatencyWindow;
  histogram: LatencyHistogram;
}

export class GatewayStageFigures {
  private requests = 0;
  private readonly outcomes: Partial<Record<Outcome, number>> = {};
  private readonly stages = new Map<StageName, StageFigures>();

  record(report: GatewayStageReport): void {
    for (const outcome of GATEWAY_OUTCOMES) {
      const n = report.outcomes[outcome];
      if (n === undefined || n === 0) continue;
      this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + n;
      this.requests += n;
    }
    for (const stage of STAGE_NAMES) {
      const samples = report.stages[stage];
      if (!samples?.length) continue;
      let figures = this.stages.get(stage);
      if (!figures) {
        figures = { count: 0, window: new LatencyWindow(), histogram: new LatencyHistogram() };
        this.stages.set(stage, figures);
      }
      for (const ms of samples) {
        const duration = Math.min(ms, MAX_DURATION_MS);
        figures.window.record(duration);
        figures.histogram.record(duration);
      }
      figures.count += samples.length;
    }
  }

  view(): GatewayMetricsView {
    const stages: GatewayMetricsView["stages"] = {};
    for (const stage of STAGE_NAMES) {
      const figures = this.stages.get(stage);
      if (figures) stages[stage] = { count: figures.count, ...figures.window.summary() };
    }
    return { requests: this.requests, outcomes: { ...this.outcomes }, stages };
  }

  snapshot(): GatewaySnapshot {
    return {
      outcomes: { ...this.outcomes },
      stages: STAGE_NAMES.flatMap((stage) => {
        const figures = this.stages.get(stage);
        return figures ? [{ stage, latency: figures.histogram.snapshot() }] : [];
      }),
    };
  }
}
