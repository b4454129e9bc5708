/** `status.report`: the notification behind `this.reportStatus(obj)` and `GET /plugin/status` (SPEC §3.4). */

export const STATUS_REPORT_METHOD = "status.report";

/** The largest status object accepted, as JSON text. */
export const STATUS_REPORT_MAX_BYTES = 64 * 1024;

export interface StatusReportParams {
  /** A JSON object. */
  status: Record<string, unknown>;
}
