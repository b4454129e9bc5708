/**
 * The latest `reportStatus` of each plugin (SPEC §3.4), behind `GET /plugin/status`. Plugins send `status.report`
 * notifications; one that is not a JSON object within the size limit is dropped with a warning (the SDK refuses those
 * already, so only a misbehaving process sends one). A report survives a stop or restart of its plugin and goes when
 * the plugin leaves the host.
 */
import { type Disposable, STATUS_REPORT_MAX_BYTES } from "@neko/protocol";
import { type HostContext, releaseWithPlugin } from "./host-context.ts";

export interface PluginStatusReport {
  plugin_id: string;
  status: Record<string, unknown>;
  /** ISO time the host received the report. */
  updated_at: string;
}

export class PluginStatusBoard implements Disposable {
  private readonly reports = new Map<string, PluginStatusReport>();
  private readonly registration: Disposable;

  constructor(private readonly ctx: HostContext) {
    this.registration = ctx.services.onNotify("status.report", ({ status }, { pluginId }) =>
      this.report(pluginId, status),
    );
  }

  report(pluginId: string, status: Record<string, unknown>): void {
    const bytes = Buffer.byteLength(JSON.stringify(status));
    if (bytes > STATUS_REPORT_MAX_BYTES) {
      this.ctx.logger.warn(
        { plugin: pluginId, bytes },
        `dropped a status report over ${STATUS_REPORT_MAX_BYTES} bytes`,
      );
      return;
    }
    const first = !this.reports.has(pluginId);
    this.reports.set(pluginId, { plugin_id: pluginId, status, updated_at: new Date().toISOString() });
    if (first && !releaseWithPlugin(this.ctx, pluginId, "lifetime", () => this.reports.delete(pluginId))) {
      this.reports.delete(pluginId);
    }
  }

  get(pluginId: string): PluginStatusReport | undefined {
    return this.reports.get(pluginId);
  }

  all(): PluginStatusReport[] {
    return [...this.reports.values()];
  }

  debugCounts(): Record<string, number> {
    return { "status.reports": this.reports.size };
  }

  dispose(): void {
    this.registration.dispose();
    this.reports.clear();
  }
}
