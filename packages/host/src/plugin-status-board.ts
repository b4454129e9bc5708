/**
 * The latest `reportStatus` of each plugin (SPEC §3.4), behind `GET /plugin/status`. Plugins send `status.report`
 * notifications; a report that is not a JSON object within the size limit is dropped with a warning (the SDK already
 * refuses those, so only a misbehaving process sends one). Reports survive a stop or restart of the plugin.
 */
import { STATUS_REPORT_MAX_BYTES, STATUS_REPORT_METHOD } from "@neko/protocol";
import type { HostLogger } from "./host-logger.ts";
import type { HostServices } from "./host-services.ts";

export interface PluginStatusReport {
  plugin_id: string;
  status: Record<string, unknown>;
  /** ISO time the host received the report. */
  updated_at: string;
}

export class PluginStatusBoard {
  private readonly reports = new Map<string, PluginStatusReport>();

  constructor(
    services: HostServices,
    private readonly logger: HostLogger,
  ) {
    services.onNotify(STATUS_REPORT_METHOD, (params: { status?: unknown } | undefined, { pluginId }) =>
      this.report(pluginId, params?.status),
    );
  }

  report(pluginId: string, status: unknown): void {
    if (typeof status !== "object" || status === null || Array.isArray(status)) {
      this.logger.warn({ plugin: pluginId }, "dropped a status report that is not an object");
      return;
    }
    const bytes = Buffer.byteLength(JSON.stringify(status));
    if (bytes > STATUS_REPORT_MAX_BYTES) {
      this.logger.warn({ plugin: pluginId, bytes }, `dropped a status report over ${STATUS_REPORT_MAX_BYTES} bytes`);
      return;
    }
    this.reports.set(pluginId, {
      plugin_id: pluginId,
      status: status as Record<string, unknown>,
      updated_at: new Date().toISOString(),
    });
  }

  get(pluginId: string): PluginStatusReport | undefined {
    return this.reports.get(pluginId);
  }

  /** A plugin that left the host (its folder is gone) leaves no status behind. */
  forget(pluginId: string): void {
    this.reports.delete(pluginId);
  }

  all(): PluginStatusReport[] {
    return [...this.reports.values()];
  }
}
