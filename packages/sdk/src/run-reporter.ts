/**
 * `this.runUpdate`, `this.exportPush` and `this.finish` (SPEC §3.4): report on the run the current entry call
 * belongs to (`POST /runs`, `POST /plugin/trigger`). The run comes from the call scope, so these work from any
 * async code the entry started; outside a run they answer `Err` with code `NOT_IN_RUN`. Documented in docs/runs.md.
 */
import { ErrorCode, type RunStatusAnswer, type RunUploadInfo } from "@neko/protocol";
import { SdkError } from "./errors.ts";
import { Err, Ok, type Result } from "./result.ts";
import { currentCallScope } from "./runtime/call-scope.ts";
import type { HostBridge } from "./runtime/host-client.ts";
import { toResult } from "./wire-result.ts";

export interface RunUpdate {
  /** Percent done, 0–100. */
  progress?: number;
  stage?: string;
  message?: string;
  /** Step `step` of `stepTotal` (whole numbers, `step` ≤ `stepTotal`). */
  step?: number;
  stepTotal?: number;
  /** Seconds still to go, as the entry estimates them. */
  eta?: number;
}

export type RunExport =
  | { type: "text"; text: string; label?: string }
  | { type: "json"; json: unknown; label?: string }
  | { type: "url"; url: string; label?: string }
  /** Bytes kept as a file with the run (16 MiB per item, 64 MiB per run); served as a download. */
  | { type: "binary"; binary: Uint8Array; mime?: string; name?: string; label?: string }
  /** A large file the run made, by URL (nothing is stored). */
  | { type: "binary_url"; url: string; mime?: string; name?: string; label?: string };

export interface RunFinish {
  /** The run's result (what `GET /runs/{id}` shows and a trigger answers with). */
  data?: unknown;
  /** How the caller should answer its user, if it asks: free-form (a text, a flag). */
  reply?: unknown;
}

export class RunReporter {
  constructor(private readonly bridge: HostBridge) {}

  async update(update: RunUpdate): Promise<Result<RunStatusAnswer, SdkError>> {
    const runId = this.runId("runUpdate");
    if (!runId.ok) return runId;
    return toResult(await this.bridge.request("run.update", { ...update, runId: runId.value }));
  }

  async exportPush(item: RunExport): Promise<Result<{ runId: string; seq: number }, SdkError>> {
    const runId = this.runId("exportPush");
    if (!runId.ok) return runId;
    return toResult(await this.bridge.request("run.export", { item, runId: runId.value }));
  }

  /** The files clients uploaded to the current run (`POST /runs/{id}/uploads`), oldest first. */
  async uploads(): Promise<Result<RunUploadInfo[], SdkError>> {
    const runId = this.runId("runUploads");
    if (!runId.ok) return runId;
    return toResult(await this.bridge.request("run.uploads", { runId: runId.value }));
  }

  /** One uploaded file of the current run, with its bytes; `NOT_FOUND` for an id the run does not have. */
  async readUpload(uploadId: string): Promise<Result<RunUploadInfo & { data: Uint8Array }, SdkError>> {
    const runId = this.runId("readRunUpload");
    if (!runId.ok) return runId;
    return toResult(await this.bridge.request("run.upload.read", { uploadId, runId: runId.value }));
  }

  /** Ends the run as `succeeded` with `data` now; what the entry returns afterwards no longer changes it. */
  async finish(outcome: RunFinish = {}): Promise<Result<RunStatusAnswer, SdkError>> {
    const runId = this.runId("finish");
    if (!runId.ok) return runId;
    const { data = null, reply = null } = outcome;
    return toResult(await this.bridge.request("run.finish", { data, reply, runId: runId.value }));
  }

  /** The run of the current call scope, or `NOT_IN_RUN`. */
  private runId(what: string): Result<string, SdkError> {
    const runId = currentCallScope()?.runId;
    if (runId) return Ok(runId);
    return Err(
      new SdkError(`${what}: not inside a run — call it from an entry started by POST /runs or /plugin/trigger`, {
        code: ErrorCode.NotInRun,
      }),
    );
  }
}
