/**
 * `this.runUpdate`, `this.exportPush` and `this.finish` (SPEC §3.4): report on the run the current entry call
 * belongs to (`POST /runs`, `POST /plugin/trigger`). The run comes from the call scope, so these work from any
 * async code the entry started; outside a run they answer `Err` with code `NOT_IN_RUN`. Documented in docs/runs.md.
 */
import {
  ErrorCode,
  MAX_RUN_BINARY_ITEM_BYTES,
  MAX_RUN_UPLOAD_READ_BYTES,
  type RunStatusAnswer,
  type RunUploadInfo,
} from "@neko/protocol";
import { SdkError } from "./errors.ts";
import { Err, Ok, type Result } from "./result.ts";
import { currentCallScope } from "./runtime/call-scope.ts";
import type { HostBridge } from "./runtime/host-client.ts";
import { toResult } from "./wire-result.ts";

/** `run.upload.read` requests this process has going (the host takes 8 per plugin; extensions share the process). */
const READS_AT_ONCE = 4;
let readsGoing = 0;
const readWaiters: Array<() => void> = [];

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

  /**
   * One uploaded file of the current run, with its bytes; `NOT_FOUND` for an id the run does not have. Read in chunks
   * of at most 1 MiB (`run.upload.read { offset, length }`), a few reads of this process at a time, and given up
   * (`CANCELED`) when the entry call is canceled.
   */
  async readUpload(uploadId: string): Promise<Result<RunUploadInfo & { data: Uint8Array }, SdkError>> {
    const runId = this.runId("readRunUpload");
    if (!runId.ok) return runId;
    const signal = currentCallScope()?.signal;
    let data: Uint8Array | undefined;
    let info: RunUploadInfo | undefined;
    let offset = 0;
    do {
      if (signal?.aborted) {
        return Err(new SdkError("readRunUpload: the entry call was canceled", { code: ErrorCode.Canceled }));
      }
      const chunk = toResult(await this.readChunk(runId.value, uploadId, offset));
      if (!chunk.ok) return chunk;
      const { data: bytes, offset: _at, ...rest } = chunk.value;
      info ??= rest;
      // The size the host gave bounds what is assembled: an upload is at most 16 MiB.
      if (rest.size > MAX_RUN_BINARY_ITEM_BYTES || rest.size !== info.size) {
        return Err(new SdkError(`readRunUpload: the upload '${uploadId}' has an unexpected size (${rest.size})`));
      }
      data ??= new Uint8Array(info.size);
      if (bytes.byteLength === 0 && offset < info.size) {
        return Err(new SdkError(`readRunUpload: the upload '${uploadId}' ended early, at ${offset} bytes`));
      }
      data.set(bytes.subarray(0, info.size - offset), offset);
      offset += bytes.byteLength;
    } while (offset < (info?.size ?? 0));
    return Ok({ ...(info as RunUploadInfo), data: data ?? new Uint8Array(0) });
  }

  /** One `run.upload.read`, waiting for a free slot first: the host takes a few reads per plugin at once. */
  private async readChunk(runId: string, uploadId: string, offset: number) {
    while (readsGoing >= READS_AT_ONCE) await new Promise<void>((resolve) => readWaiters.push(resolve));
    readsGoing += 1;
    try {
      return await this.bridge.request("run.upload.read", {
        runId,
        uploadId,
        offset,
        length: MAX_RUN_UPLOAD_READ_BYTES,
      });
    } finally {
      readsGoing -= 1;
      readWaiters.shift()?.();
    }
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
