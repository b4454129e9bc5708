/** The largest status a plugin may report (`this.reportStatus`, `status.report`), as JSON text (SPEC §3.4). */
export const STATUS_REPORT_MAX_BYTES = 64 * 1024;
