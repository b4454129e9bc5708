/**
 * Runs (SPEC §5.1): an entry call started asynchronously (`POST /runs`) or by `POST /plugin/trigger`, followed
 * through its states, with progress, stage and message (`this.runUpdate`), exported items (`this.exportPush`)
 * and an early result (`this.finish`). Cancel aborts the handler's signal. The latest finished runs are kept
 * (500 by default; trigger runs go first). Each run has a `run_token`: a bearer secret good for that run's routes
 * only. A `POST /runs` may carry an `idempotency_key`: a repeat of it answers with the first run instead of starting
 * another. `binary` exports and uploads are files under `<dataDir>/runs/<host instance>/<run_id>/`, deleted with the
 * run; each host has its own folder, so hosts sharing a data folder never delete each other's files. Documented in
 * docs/runs.md.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {
  Canceler,
  type CancelToken,
  type Disposable,
  DisposableStore,
  Emitter,
  ErrorCode,
  MAX_RUN_BINARY_BYTES,
  MAX_RUN_BINARY_ITEM_BYTES,
  MAX_RUN_UPLOAD_READ_BYTES,
  MAX_RUN_UPLOADS,
  type RunExportInput,
  type RunUploadInfo,
  timerDelay,
  type WireError,
  type WireResult,
} from "@neko/protocol";
import type { HostContext } from "../host-context.ts";
import type { ServiceContext } from "../host-services.ts";
import { failure, pluginNotFound, validationFailure, type WireFailure } from "../wire-result.ts";
import { type RunState, RunStateMachine } from "./run-state-machine.ts";

export const DEFAULT_FINISHED_RUNS_KEPT = 500;
export const DEFAULT_CANCEL_GRACE_MS = 5000;
const MAX_EXPORTS_PER_RUN = 1000;
const MAX_EXPORT_BYTES_PER_RUN = 8 * 1024 * 1024;
/** Bytes of files under `<dataDir>/runs/<this host>/` together, all runs (`runs.maxTotalFileBytes`). */
export const DEFAULT_MAX_TOTAL_FILE_BYTES = 1024 * 1024 * 1024;
/** Uploads arriving at once: all runs together, and one run. */
export const MAX_CONCURRENT_UPLOADS = 4;
export const MAX_CONCURRENT_UPLOADS_PER_RUN = 2;
/** `run.upload.read` requests one plugin may have going at once. */
export const MAX_CONCURRENT_UPLOAD_READS = 8;
/** The file in each host's folder naming the process that owns it. */
const OWNER_FILE = "owner.json";
/** A folder without an owner file younger than this may be a host starting right now: left alone. */
const OWNERLESS_GRACE_MS = 60_000;

export type RunKind = "run" | "trigger";

export interface RunExportItem {
  seq: number;
  type: "text" | "json" | "url" | "binary" | "binary_url";
  text?: string;
  json?: unknown;
  /** For `url` and `binary_url`. */
  url?: string;
  /** For `binary` and `binary_url`: the media type and file name the plugin gave (if any). */
  mime?: string;
  name?: string;
  /** For `binary`: its size in bytes and where to fetch it (`GET /runs/{id}/export/{seq}/content`). */
  size?: number;
  content_url?: string;
  label?: string;
  time: string;
}

/** A `binary` export's bytes as a file on disk, for `GET /runs/{id}/export/{seq}/content`. */
export interface RunExportContent {
  path: string;
  mime: string | null;
  name: string | null;
  size: number;
}

/** A run's file, or why it is no longer there (`gone`: deleted to keep the host under `runs.maxTotalFileBytes`). */
export type RunFileLookup = RunExportContent | { gone: string } | undefined;

/** An upload's bytes as they arrive: a stream (the HTTP body) or, in tests, bytes in memory. */
export interface RunUploadInput {
  name: string;
  mime: string;
  /** The size the client declared (`content-length`), when it did: checked before any byte is read. */
  size?: number;
  body: AsyncIterable<Uint8Array> | Uint8Array;
}

/** A run as the HTTP API shows it. */
export interface RunView {
  run_id: string;
  kind: RunKind;
  plugin_id: string;
  entry_id: string;
  /** What the client that started it gave to `POST /runs` (null when not given). */
  task_id: string | null;
  trace_id: string | null;
  idempotency_key: string | null;
  status: RunState;
  /** Percent, 0–100, as last reported by `runUpdate`; 100 once the run has succeeded. */
  progress: number | null;
  stage: string | null;
  message: string | null;
  /** `runUpdate({ step, stepTotal, eta })`: step n of step_total, and the seconds still to go. */
  step: number | null;
  step_total: number | null;
  eta_seconds: number | null;
  result: unknown;
  reply: unknown;
  error: { code: string; message: string; details: unknown } | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
  exports: number;
}

export interface ExportPage {
  run_id: string;
  items: RunExportItem[];
  next_cursor: number;
  has_more: boolean;
  total: number;
}

export interface StartRunRequest {
  pluginId: string;
  entryId: string;
  args?: unknown;
  timeoutMs?: number;
  /** For a run made by another plugin's call: its call chain, its deadline, and its cancel. */
  chain?: string[];
  deadline?: number;
  cancel?: CancelToken;
  /** Told every change of this run (its progress, stage and message as the entry reports them). */
  onUpdate?: (run: RunView) => void;
  /** `POST /runs` only: kept on the run and shown with it. */
  taskId?: string;
  traceId?: string;
  /** `POST /runs` only: a repeat for the same plugin and entry answers with the first run (docs/runs.md). */
  idempotencyKey?: string;
}

/** A file a client uploaded to a run, as the HTTP API shows it. */
export interface RunUploadView {
  upload_id: string;
  name: string;
  mime: string;
  size: number;
  time: string;
  content_url: string;
}

/** What `start` answers: the run made, or the run an earlier request with the same idempotency key made. */
export interface StartedRun {
  run_id: string;
  status: RunState;
  run_token: string | null;
  deduplicated: boolean;
}

/** What the server may ask of the runs. */
export interface RunsApi {
  /**
   * Starts the entry and answers at once (`StartedRun`); `Err` when there is no such plugin, or
   * `IDEMPOTENCY_CONFLICT` when the idempotency key was used for that entry with other arguments.
   */
  start(request: StartRunRequest): WireResult;
  /** Runs the entry as a `trigger` run and resolves with its outcome (`runId` null when no run was made). */
  execute(request: StartRunRequest): Promise<{ runId: string | null; result: WireResult }>;
  get(runId: string): RunView | undefined;
  list(query?: { pluginId?: string; status?: RunState; limit?: number }): RunView[];
  cancel(runId: string): WireResult;
  exports(runId: string, page?: { after?: number; limit?: number }): ExportPage | undefined;
  /**
   * A `binary` export's file; undefined when the run or that item is not there, or the item is not `binary`;
   * `{ gone }` when the run's files were deleted to make room (`runs.maxTotalFileBytes`).
   */
  exportContent(runId: string, seq: number): RunFileLookup;
  /**
   * Stores a file for an active run (`POST /runs/{id}/uploads`), streamed to disk: its plugin can list and read it.
   * Every check that needs no byte (`NOT_FOUND`, `RUN_FINISHED`, `PAYLOAD_TOO_LARGE` past the run's count, its bytes or
   * the host's, `BUSY` past the uploads taken at once) is made before the body is read.
   */
  upload(runId: string, file: RunUploadInput): Promise<WireResult>;
  /** The run's uploads, oldest first; undefined when there is no such run. */
  uploads(runId: string): RunUploadView[] | undefined;
  uploadContent(runId: string, uploadId: string): RunFileLookup;
  /** True when `token` is the run's token (compared in constant time). */
  checkToken(runId: string, token: string): boolean;
  /** Every change of every run; dispose to stop. */
  onChange(listener: (run: RunView) => void): Disposable;
}

export interface RunRegistryOptions {
  keepFinished?: number;
  /** How long a canceled run waits for the plugin to confirm before it is marked `canceled` anyway. */
  cancelGraceMs?: number;
  /** Bytes of `binary` exports one run may hold together (default 64 MiB; one item is at most 16 MiB). */
  maxBinaryBytes?: number;
  /**
   * Bytes of files (binary exports and uploads) all runs of this host hold together (default 1 GiB): past it the
   * oldest finished runs' files are deleted first; when only active runs hold the bytes, new files are refused.
   */
  maxTotalFileBytes?: number;
}

interface Run {
  id: string;
  token: Buffer | undefined;
  kind: RunKind;
  pluginId: string;
  entryId: string;
  taskId: string | null;
  traceId: string | null;
  idempotencyKey: string | null;
  /** The key in `idempotency` this run holds. */
  idempotencySlot: string | null;
  /** With an idempotency key only: SHA-256 of what its request was (args, timeout, task id). */
  fingerprint: string | null;
  machine: RunStateMachine;
  progress: number | null;
  stage: string | null;
  message: string | null;
  step: number | null;
  stepTotal: number | null;
  eta: number | null;
  result: unknown;
  reply: unknown;
  error: WireError | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  updatedAt: number;
  exports: RunExportItem[];
  exportBytes: number;
  /** Bytes of `binary` exports, written or being written, and items being written (they count as pushed). */
  binaryBytes: number;
  pendingExports: number;
  /** Uploads being written (they count against the run's 100 uploads and the uploads taken at once). */
  pendingUploads: number;
  /** Why the run's files are gone, once they were deleted to make room (`runs.maxTotalFileBytes`). */
  filesGone: string | null;
  /** `binary` exports' files by seq. */
  files: Map<number, RunExportContent>;
  /** Uploaded files by id, oldest first. */
  uploads: Map<string, { view: RunUploadView; content: RunExportContent }>;
  canceler: Canceler;
  cancelTimer: NodeJS.Timeout | undefined;
  /** Told the outcome once the run ends: how `execute` answers (a `POST /runs` run has none). */
  onEnd: ((result: WireResult) => void) | undefined;
  onUpdate: ((run: RunView) => void) | undefined;
}

export class RunRegistry implements RunsApi, Disposable {
  private readonly runs = new Map<string, Run>();
  /** Idempotency slot (plugin, entry, key) → the run that holds it, for as long as that run is kept. */
  private readonly idempotency = new Map<string, string>();
  /** `<dataDir>/runs/<this host's id>`: one folder per run with files (`binary` exports, uploads). */
  readonly filesDir: string;
  /** Uploads being written, all runs; `run.upload.read` requests going, by plugin. */
  private uploadsGoing = 0;
  private readonly readsGoing = new Map<string, number>();
  /** Set by `dispose`: a write that ends afterwards deletes its file. */
  private disposed = false;
  private readonly finished: Record<RunKind, string[]> = { run: [], trigger: [] };
  private readonly changes: Emitter<RunView>;
  private readonly owned = new DisposableStore();

  constructor(
    private readonly ctx: HostContext,
    private readonly options: RunRegistryOptions = {},
  ) {
    this.changes = this.owned.add(new Emitter((error) => ctx.logger.error({ err: error }, "a run listener failed")));
    const runsDir = path.join(ctx.dataDir, "runs");
    // Runs live in memory: files of a host that is gone belong to no run any more. Hosts still running on the same
    // data folder (serve, dev and mcp share `.neko`) keep theirs.
    this.removeOrphans(runsDir);
    this.filesDir = path.join(runsDir, `${process.pid}-${randomUUID()}`);
    this.claimFolder();
    this.registerServices();
  }

  start(request: StartRunRequest): WireResult {
    if (!this.ctx.plugins.has(request.pluginId)) {
      return pluginNotFound(request.pluginId);
    }
    // Checked and claimed in one synchronous step: two requests at once cannot both start a run.
    const slot =
      request.idempotencyKey === undefined
        ? null
        : JSON.stringify([request.pluginId, request.entryId, request.idempotencyKey]);
    const fingerprint = slot === null ? null : requestFingerprint(request);
    const earlier = slot === null ? undefined : this.runs.get(this.idempotency.get(slot) ?? "");
    if (earlier) {
      if (earlier.fingerprint !== fingerprint) {
        return failure(
          ErrorCode.IdempotencyConflict,
          `idempotency_key '${request.idempotencyKey}' was already used for ${request.pluginId}:${request.entryId} (run '${earlier.id}') with other args, timeout or task_id`,
          "SdkError",
          { idempotency_key: request.idempotencyKey, run_id: earlier.id },
        );
      }
      return { ok: true, value: started(earlier, true) };
    }
    const run = this.create(request, "run");
    run.fingerprint = fingerprint;
    if (slot !== null) {
      run.idempotencySlot = slot;
      this.idempotency.set(slot, run.id);
    }
    this.dispatch(run, request);
    return { ok: true, value: started(run, false) };
  }

  execute(request: StartRunRequest): Promise<{ runId: string | null; result: WireResult }> {
    if (!this.ctx.plugins.has(request.pluginId)) {
      return Promise.resolve({ runId: null, result: pluginNotFound(request.pluginId) });
    }
    // One promise per trigger, resolved by the run's end: this is every POST /plugin/trigger's path.
    return new Promise((resolve) => {
      const run = this.create(request, "trigger");
      let listening: Disposable | undefined;
      run.onEnd = (result) => {
        listening?.dispose();
        run.onUpdate = undefined;
        resolve({ runId: run.id, result });
      };
      // The caller's cancel (a cross-plugin call given up) cancels the run.
      listening = request.cancel?.onCancel(() => {
        if (!run.machine.finished) this.cancel(run.id);
      });
      this.dispatch(run, request);
    });
  }

  get(runId: string): RunView | undefined {
    const run = this.runs.get(runId);
    return run && view(run);
  }

  list(query: { pluginId?: string; status?: RunState; limit?: number } = {}): RunView[] {
    const out: RunView[] = [];
    for (const run of [...this.runs.values()].reverse()) {
      if (query.pluginId !== undefined && run.pluginId !== query.pluginId) continue;
      if (query.status !== undefined && run.machine.state !== query.status) continue;
      out.push(view(run));
      if (out.length >= (query.limit ?? 100)) break;
    }
    return out;
  }

  cancel(runId: string): WireResult {
    const run = this.runs.get(runId);
    if (!run) return failure(ErrorCode.NotFound, `no run '${runId}'`, "NotFoundError");
    if (run.machine.finished) {
      return failure(ErrorCode.RunFinished, `run '${runId}' has already finished (${run.machine.state})`, "SdkError", {
        status: run.machine.state,
      });
    }
    if (run.machine.state === "queued") {
      this.end(run, "canceled", { error: canceledError("the run was canceled before it started") });
    } else if (run.machine.state === "running") {
      this.move(run, "cancel_requested");
      run.canceler.cancel();
      const grace = this.options.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS;
      run.cancelTimer = setTimeout(() => {
        this.end(run, "canceled", {
          error: canceledError(`the plugin did not confirm the cancel within ${grace / 1000}s`),
        });
      }, timerDelay(grace));
      run.cancelTimer.unref();
    }
    return { ok: true, value: view(run) };
  }

  exports(runId: string, page: { after?: number; limit?: number } = {}): ExportPage | undefined {
    const run = this.runs.get(runId);
    if (!run) return undefined;
    const after = page.after ?? 0;
    const limit = page.limit ?? 100;
    // Export seqs are 1, 2, 3, … so the item after cursor `after` sits at index `after`.
    const items = run.exports.slice(after, after + limit);
    const last = items.at(-1)?.seq ?? Math.min(after, run.exports.length);
    return { run_id: run.id, items, next_cursor: last, has_more: last < run.exports.length, total: run.exports.length };
  }

  exportContent(runId: string, seq: number): RunFileLookup {
    const run = this.runs.get(runId);
    if (run?.filesGone && run.exports[seq - 1]?.type === "binary") return { gone: run.filesGone };
    return run?.files.get(seq);
  }

  async upload(runId: string, file: RunUploadInput): Promise<WireResult> {
    if (this.disposed) return failure(ErrorCode.ShuttingDown, "the host is stopping: no file is stored");
    const run = this.runs.get(runId);
    if (!run) return failure(ErrorCode.NotFound, `no run '${runId}'`, "NotFoundError");
    if (run.machine.finished) return runFinished(run);
    const itemLimit = MAX_RUN_BINARY_ITEM_BYTES;
    if (file.size !== undefined && file.size > itemLimit) {
      return failure(
        ErrorCode.PayloadTooLarge,
        `the upload is ${file.size} bytes; one upload is at most ${itemLimit} (16 MiB)`,
        "SdkError",
        { limit: itemLimit, size: file.size },
      );
    }
    if (run.uploads.size + run.pendingUploads >= MAX_RUN_UPLOADS) {
      return failure(
        ErrorCode.PayloadTooLarge,
        `run '${runId}' holds the most uploads it may (${MAX_RUN_UPLOADS})`,
        "SdkError",
        { limit: MAX_RUN_UPLOADS, held: run.uploads.size + run.pendingUploads },
      );
    }
    if (this.uploadsGoing >= MAX_CONCURRENT_UPLOADS || run.pendingUploads >= MAX_CONCURRENT_UPLOADS_PER_RUN) {
      const perRun = run.pendingUploads >= MAX_CONCURRENT_UPLOADS_PER_RUN;
      const limit = perRun ? MAX_CONCURRENT_UPLOADS_PER_RUN : MAX_CONCURRENT_UPLOADS;
      return failure(
        ErrorCode.Busy,
        perRun
          ? `run '${runId}' already has ${limit} uploads arriving (the most one run takes at once): try again when one is done`
          : `the host already has ${limit} uploads arriving (the most it takes at once): try again shortly`,
        "SdkError",
        { limit },
      );
    }
    // Without a declared size the upload may be as large as the run still has room for (16 MiB at most).
    const budget = this.options.maxBinaryBytes ?? MAX_RUN_BINARY_BYTES;
    const claim = file.size ?? Math.min(itemLimit, budget - run.binaryBytes);
    const refused = this.claimFileBytes(run, Math.max(claim, 1), "upload");
    if (refused) return refused;
    run.pendingUploads += 1;
    this.uploadsGoing += 1;
    let written: { path: string; size: number } | { tooLarge: number };
    try {
      written = await this.writeRunFile(run, file.body, claim);
    } catch (error) {
      this.releaseFileBytes(run, Math.max(claim, 1));
      if (this.runs.get(run.id) !== run) return noLongerKept(run.id);
      this.ctx.logger.error({ err: error, runId }, "could not write a run's upload");
      return failure(ErrorCode.Internal, `the host could not store the upload (${describe(error)})`);
    } finally {
      run.pendingUploads -= 1;
      this.uploadsGoing -= 1;
    }
    if ("tooLarge" in written) {
      this.releaseFileBytes(run, Math.max(claim, 1));
      return failure(
        ErrorCode.PayloadTooLarge,
        `the upload is larger than the ${written.tooLarge} bytes it may be (16 MiB per upload, and the room left in the run and the host)`,
        "SdkError",
        { limit: written.tooLarge },
      );
    }
    this.releaseFileBytes(run, Math.max(claim, 1) - written.size);
    const stale = this.staleWrite(run, written.path, written.size);
    if (stale) return stale;
    if (written.size === 0) {
      this.dropFile(written.path);
      return validationFailure("the body must be the file's bytes (at least one)", "body");
    }
    if (run.machine.finished) {
      // The run ended while its upload arrived: nothing reads it any more.
      this.dropFile(written.path);
      this.releaseFileBytes(run, written.size);
      return runFinished(run);
    }
    const id = randomUUID();
    const name = safeFileName(file.name);
    const view: RunUploadView = {
      upload_id: id,
      name,
      mime: file.mime,
      size: written.size,
      time: new Date().toISOString(),
      content_url: `/runs/${run.id}/uploads/${id}`,
    };
    run.uploads.set(id, { view, content: { path: written.path, mime: file.mime, name, size: written.size } });
    this.touch(run);
    return { ok: true, value: view };
  }

  uploads(runId: string): RunUploadView[] | undefined {
    const run = this.runs.get(runId);
    return run && [...run.uploads.values()].map((u) => u.view);
  }

  uploadContent(runId: string, uploadId: string): RunFileLookup {
    const run = this.runs.get(runId);
    const upload = run?.uploads.get(uploadId);
    if (upload && run?.filesGone) return { gone: run.filesGone };
    return upload?.content;
  }

  checkToken(runId: string, token: string): boolean {
    const run = this.runs.get(runId);
    if (!run?.token) return false;
    const given = Buffer.from(token);
    return given.length === run.token.length && timingSafeEqual(given, run.token);
  }

  onChange(listener: (run: RunView) => void): Disposable {
    return this.changes.event(listener);
  }

  debugCounts(): Record<string, number> {
    return { "runs.kept": this.runs.size, "runs.listeners": this.changes.size };
  }

  /** Clears timers and this host's files (never another host's); runs still going end when their plugins stop. */
  dispose(): void {
    this.disposed = true;
    for (const run of this.runs.values()) clearTimeout(run.cancelTimer);
    this.owned.dispose();
    this.removeFiles(this.filesDir);
  }

  private create(request: StartRunRequest, kind: RunKind): Run {
    const now = Date.now();
    const run: Run = {
      id: randomUUID(),
      // Only `POST /runs` hands out a token; a trigger's run is answered in the same request and needs none.
      token: kind === "run" ? Buffer.from(randomBytes(24).toString("base64url")) : undefined,
      kind,
      pluginId: request.pluginId,
      entryId: request.entryId,
      taskId: request.taskId ?? null,
      traceId: request.traceId ?? null,
      idempotencyKey: request.idempotencyKey ?? null,
      idempotencySlot: null,
      fingerprint: null,
      machine: new RunStateMachine(),
      progress: null,
      stage: null,
      message: null,
      step: null,
      stepTotal: null,
      eta: null,
      result: null,
      reply: null,
      error: null,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
      updatedAt: now,
      exports: [],
      exportBytes: 0,
      binaryBytes: 0,
      pendingExports: 0,
      pendingUploads: 0,
      filesGone: null,
      files: new Map(),
      uploads: new Map(),
      canceler: new Canceler(),
      cancelTimer: undefined,
      onEnd: undefined,
      onUpdate: request.onUpdate,
    };
    this.runs.set(run.id, run);
    return run;
  }

  private dispatch(run: Run, request: StartRunRequest): void {
    if (!run.machine.moveTo("running")) return;
    run.startedAt = Date.now();
    this.touch(run, run.startedAt);
    void this.ctx.operations
      .callEntry(run.pluginId, run.entryId, request.args ?? {}, {
        timeoutMs: request.timeoutMs,
        runId: run.id,
        cancel: run.canceler,
        ...(request.chain && { chain: request.chain }),
        ...(request.deadline !== undefined && { deadline: request.deadline }),
      })
      .then((result) => this.onAnswer(run, result));
  }

  private onAnswer(run: Run, result: WireResult): void {
    if (run.machine.finished) return; // finished early (finish(), or a cancel the plugin never confirmed)
    if (result.ok) {
      this.end(run, "succeeded", { result: result.value });
      return;
    }
    const state: RunState =
      result.error.code === ErrorCode.Timeout
        ? "timeout"
        : result.error.code === ErrorCode.Canceled
          ? "canceled"
          : "failed";
    if (REFUSED_BEFORE_DISPATCH.has(result.error.code)) this.releaseKey(run);
    this.end(run, state, { error: result.error });
  }

  private end(run: Run, state: RunState, outcome: { result?: unknown; reply?: unknown; error?: WireError }): boolean {
    if (!run.machine.moveTo(state)) return false;
    clearTimeout(run.cancelTimer);
    // The outcome is set before listeners hear of the change: the change that says `succeeded` carries the result.
    run.finishedAt = Date.now();
    if (state === "succeeded") run.progress = 100;
    if (outcome.result !== undefined) run.result = outcome.result;
    if (outcome.reply !== undefined) run.reply = outcome.reply;
    if (outcome.error) run.error = outcome.error;
    this.touch(run, run.finishedAt);
    run.onEnd?.(outcome.error ? { ok: false, error: outcome.error } : { ok: true, value: run.result });
    run.onEnd = undefined;
    this.keepFinished(run);
    return true;
  }

  private move(run: Run, state: RunState): boolean {
    if (!run.machine.moveTo(state)) return false;
    this.touch(run);
    return true;
  }

  private touch(run: Run, now = Date.now()): void {
    run.updatedAt = now;
    if (this.changes.size === 0 && !run.onUpdate) return;
    const seen = view(run);
    if (this.changes.size > 0) this.changes.fire(seen);
    if (run.onUpdate) {
      try {
        run.onUpdate(seen);
      } catch (error) {
        this.ctx.logger.error({ err: error }, "a run's update listener failed");
      }
    }
  }

  /** Forgets the oldest finished runs beyond the limit, trigger runs before `POST /runs` ones. */
  private keepFinished(run: Run): void {
    this.finished[run.kind].push(run.id);
    const limit = this.options.keepFinished ?? DEFAULT_FINISHED_RUNS_KEPT;
    while (this.finished.run.length + this.finished.trigger.length > limit) {
      const pool = this.finished.trigger.length > 0 ? this.finished.trigger : this.finished.run;
      this.forget(pool.shift() as string);
    }
  }

  /** Drops a run, its idempotency key and its files. */
  private forget(runId: string): void {
    const run = this.runs.get(runId);
    this.runs.delete(runId);
    if (!run) return;
    this.releaseKey(run);
    if (run.files.size > 0 || run.uploads.size > 0 || run.pendingExports > 0 || run.pendingUploads > 0) {
      this.removeFiles(this.runDir(run.id));
    }
  }

  /** Frees the run's idempotency key: a repeat of it starts a new run. */
  private releaseKey(run: Run): void {
    if (run.idempotencySlot !== null && this.idempotency.get(run.idempotencySlot) === run.id) {
      this.idempotency.delete(run.idempotencySlot);
    }
  }

  /**
   * Claims `size` bytes of the run's budget and the host's before a file is written, so writes made at once cannot
   * pass the limits together. Past the host's limit, the oldest finished runs' files are deleted first; an `Err` when
   * that is not enough (or the run's own budget is spent).
   */
  private claimFileBytes(run: Run, size: number, what: "upload" | "export"): WireFailure | undefined {
    const code = what === "upload" ? ErrorCode.PayloadTooLarge : ErrorCode.RunExportLimit;
    const prefix = what === "upload" ? "" : "exportPush: ";
    const budget = this.options.maxBinaryBytes ?? MAX_RUN_BINARY_BYTES;
    if (size <= 0 || run.binaryBytes + size > budget) {
      return failure(
        code,
        `${prefix}${Math.max(size, 1)} more bytes would pass the ${budget} bytes of uploads and binary exports a run may hold (it holds ${run.binaryBytes})`,
        "SdkError",
        { limit: budget, held: run.binaryBytes, size },
      );
    }
    const cap = this.options.maxTotalFileBytes ?? DEFAULT_MAX_TOTAL_FILE_BYTES;
    let total = this.totalFileBytes();
    if (total + size > cap) {
      for (const old of this.runs.values()) {
        if (total + size <= cap) break;
        if (!old.machine.finished || old.binaryBytes === 0 || old.pendingExports + old.pendingUploads > 0) continue;
        total -= old.binaryBytes;
        this.dropRunFiles(old, cap);
      }
    }
    if (total + size > cap) {
      return failure(
        code,
        `${prefix}the host's runs hold ${total} bytes of files; ${size} more would pass runs.maxTotalFileBytes (${cap}), and only active runs hold them`,
        "SdkError",
        { limit: cap, held: total, size, field: "runs.maxTotalFileBytes" },
      );
    }
    run.binaryBytes += size;
    return undefined;
  }

  private releaseFileBytes(run: Run, size: number): void {
    run.binaryBytes -= size;
  }

  /** Bytes of files all kept runs hold or have claimed. */
  private totalFileBytes(): number {
    let total = 0;
    for (const run of this.runs.values()) total += run.binaryBytes;
    return total;
  }

  /** Deletes a finished run's files to make room; the run and its listings stay, its downloads say why they are gone. */
  private dropRunFiles(run: Run, cap: number): void {
    this.removeFiles(this.runDir(run.id));
    run.binaryBytes = 0;
    run.filesGone = `run '${run.id}''s files were deleted to keep the host's run files under runs.maxTotalFileBytes (${cap} bytes); newer runs needed the room`;
    this.ctx.logger.info({ runId: run.id, cap }, "deleted a finished run's files to make room");
  }

  /**
   * After a write: the file's bytes are deleted again when the registry was stopped meanwhile, or the run forgotten.
   * The `Err` to answer then.
   */
  private staleWrite(run: Run, file: string, size: number): WireFailure | undefined {
    if (this.disposed) {
      this.dropFile(file);
      return failure(ErrorCode.ShuttingDown, "the host is stopping: the file was not kept");
    }
    if (this.runs.get(run.id) !== run) {
      this.removeFiles(this.runDir(run.id));
      return noLongerKept(run.id);
    }
    if (run.filesGone) {
      this.dropFile(file);
      this.releaseFileBytes(run, size);
      return failure(ErrorCode.NotFound, run.filesGone, "NotFoundError");
    }
    return undefined;
  }

  private dropFile(file: string): void {
    try {
      fs.rmSync(file, { force: true });
    } catch (error) {
      this.ctx.logger.warn({ err: error, file }, "could not remove a run's file");
    }
  }

  /** Deletes the folders of hosts whose process is gone (and files of the layout before per-host folders). */
  private removeOrphans(runsDir: string): void {
    let names: string[];
    try {
      names = fs.readdirSync(runsDir);
    } catch {
      return; // no folder yet
    }
    for (const name of names) {
      const dir = path.join(runsDir, name);
      if (this.ownerAlive(dir)) continue;
      this.removeFiles(dir);
    }
  }

  /** True when the folder's owner file names a live process, or it has none yet and is new (a host starting). */
  private ownerAlive(dir: string): boolean {
    let owner: { pid?: unknown };
    try {
      owner = JSON.parse(fs.readFileSync(path.join(dir, OWNER_FILE), "utf8"));
    } catch {
      try {
        const stat = fs.statSync(dir);
        return stat.isDirectory() && Date.now() - stat.mtimeMs < OWNERLESS_GRACE_MS && /^\d+-/.test(path.basename(dir));
      } catch {
        return false;
      }
    }
    if (typeof owner.pid !== "number" || !Number.isInteger(owner.pid) || owner.pid <= 0) return false;
    try {
      process.kill(owner.pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "EPERM"; // alive, another user's
    }
  }

  /** Makes this host's folder with its owner file (the pid other hosts check before deleting anything). */
  private claimFolder(): void {
    try {
      fs.mkdirSync(this.filesDir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(
        path.join(this.filesDir, OWNER_FILE),
        JSON.stringify({ pid: process.pid, started_at: new Date().toISOString() }),
        { mode: 0o600 },
      );
    } catch (error) {
      this.ctx.logger.warn({ err: error, dir: this.filesDir }, "could not make the folder for run files");
    }
  }

  private runDir(runId: string): string {
    return path.join(this.filesDir, runId);
  }

  private removeFiles(dir: string): void {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch (error) {
      this.ctx.logger.warn({ err: error, dir }, "could not remove a run's files");
    }
  }

  /**
   * Writes a `binary` export's or an upload's bytes under the run's folder, with a name the host makes, as they
   * arrive: to a temporary name first, so a failed write leaves no half file behind. `{ tooLarge: limit }` (and
   * nothing kept) when more than `limit` bytes arrive.
   */
  private async writeRunFile(
    run: Run,
    body: AsyncIterable<Uint8Array> | Uint8Array,
    limit: number,
  ): Promise<{ path: string; size: number } | { tooLarge: number }> {
    const dir = this.runDir(run.id);
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${randomUUID()}.bin`);
    const partial = `${file}.part`;
    const handle = await fs.promises.open(partial, "wx", 0o600);
    let size = 0;
    let closed = false;
    try {
      // Iterated by hand: leaving early must not destroy the request, so the server can still answer it.
      const chunks: Iterator<Uint8Array> | AsyncIterator<Uint8Array> =
        body instanceof Uint8Array ? [body][Symbol.iterator]() : body[Symbol.asyncIterator]();
      for (let step = await chunks.next(); !step.done; step = await chunks.next()) {
        const chunk = step.value;
        size += chunk.byteLength;
        if (size > limit) {
          // Stop reading: the rest of the body is never taken in.
          await handle.close();
          closed = true;
          await fs.promises.rm(partial, { force: true });
          return { tooLarge: limit };
        }
        if (this.disposed) throw new Error("the host is stopping");
        await handle.write(chunk);
      }
      await handle.close();
      closed = true;
      await fs.promises.rename(partial, file);
    } catch (error) {
      if (!closed) await handle.close().catch(() => undefined);
      await fs.promises.rm(partial, { force: true }).catch(() => undefined);
      throw error;
    }
    return { path: file, size };
  }

  /** The plugin's own active run, or an Err saying why not. */
  private activeRun(runId: string, ctx: ServiceContext): { run: Run } | { error: WireFailure } {
    const run = this.runs.get(runId);
    if (!run || run.pluginId !== ctx.pluginId) {
      return {
        error: failure(ErrorCode.NotFound, `plugin '${ctx.pluginId}' has no run '${String(runId)}'`, "NotFoundError"),
      };
    }
    if (run.machine.finished) {
      return {
        error: failure(
          ErrorCode.RunFinished,
          `run '${run.id}' has already finished (${run.machine.state})`,
          "SdkError",
          {
            status: run.machine.state,
          },
        ),
      };
    }
    return { run };
  }

  private registerServices(): void {
    const { services } = this.ctx;
    this.owned.add(
      services.handle("run.update", ({ runId, progress, stage, message, step, stepTotal, eta }, ctx) => {
        const found = this.activeRun(runId, ctx);
        if ("error" in found) return found.error;
        const { run } = found;
        const nextStep = step ?? run.step;
        const nextTotal = stepTotal ?? run.stepTotal;
        if (nextStep !== null && nextTotal !== null && nextStep > nextTotal) {
          return validationFailure(
            `runUpdate: 'step' (${nextStep}) must not be greater than 'stepTotal' (${nextTotal})`,
            step !== undefined ? "step" : "stepTotal",
          );
        }
        if (progress !== undefined) run.progress = progress;
        if (stage !== undefined) run.stage = stage;
        if (message !== undefined) run.message = message;
        if (step !== undefined) run.step = step;
        if (stepTotal !== undefined) run.stepTotal = stepTotal;
        if (eta !== undefined) run.eta = eta;
        this.touch(run);
        return { ok: true, value: { runId: run.id, status: run.machine.state } };
      }),
    );
    this.owned.add(
      services.handle("run.export", async ({ runId, item }, ctx) => {
        const found = this.activeRun(runId, ctx);
        if ("error" in found) return found.error;
        const { run } = found;
        const bytes = itemBytes(item);
        if (
          run.exports.length + run.pendingExports >= MAX_EXPORTS_PER_RUN ||
          run.exportBytes + bytes > MAX_EXPORT_BYTES_PER_RUN
        ) {
          return failure(
            ErrorCode.RunExportLimit,
            `exportPush: run '${run.id}' already holds the most a run may (${MAX_EXPORTS_PER_RUN} items, ${MAX_EXPORT_BYTES_PER_RUN} bytes)`,
          );
        }
        if (item.type !== "binary") {
          const exported: RunExportItem = { seq: run.exports.length + 1, ...item, time: new Date().toISOString() };
          run.exports.push(exported);
          run.exportBytes += bytes;
          this.touch(run);
          return { ok: true, value: { runId: run.id, seq: exported.seq } };
        }
        const size = item.binary.byteLength;
        // Claimed before the write, so pushes made at once cannot pass the limits together.
        const refused = this.claimFileBytes(run, size, "export");
        if (refused) return refused;
        run.exportBytes += bytes;
        run.pendingExports += 1;
        let file: string;
        try {
          const written = await this.writeRunFile(run, item.binary, size);
          if ("tooLarge" in written) throw new Error("the bytes changed while they were written");
          file = written.path;
        } catch (error) {
          this.releaseFileBytes(run, size);
          run.exportBytes -= bytes;
          // The run was forgotten while its file was written: that, not the write, is the answer.
          if (this.runs.get(run.id) !== run) return noLongerKept(run.id);
          this.ctx.logger.error({ err: error, runId: run.id }, "could not write a run's binary export");
          return failure(ErrorCode.Internal, `exportPush: the host could not store the bytes (${describe(error)})`);
        } finally {
          run.pendingExports -= 1;
        }
        const stale = this.staleWrite(run, file, size);
        if (stale) {
          run.exportBytes -= bytes;
          return stale;
        }
        const { binary: _bytes, ...rest } = item;
        const seq = run.exports.length + 1;
        const exported: RunExportItem = {
          seq,
          ...rest,
          size,
          content_url: `/runs/${run.id}/export/${seq}/content`,
          time: new Date().toISOString(),
        };
        run.exports.push(exported);
        run.files.set(seq, { path: file, mime: item.mime ?? null, name: item.name ?? null, size });
        this.touch(run);
        return { ok: true, value: { runId: run.id, seq } };
      }),
    );
    this.owned.add(
      services.handle("run.uploads", ({ runId }, ctx) => {
        const found = this.activeRun(runId, ctx);
        if ("error" in found) return found.error;
        return { ok: true, value: [...found.run.uploads.values()].map((u) => uploadInfo(u.view)) };
      }),
    );
    this.owned.add(
      services.handle("run.upload.read", async ({ runId, uploadId, offset = 0, length }, ctx) => {
        const found = this.activeRun(runId, ctx);
        if ("error" in found) return found.error;
        const upload = found.run.uploads.get(uploadId);
        if (!upload) {
          return failure(ErrorCode.NotFound, `run '${found.run.id}' has no upload '${uploadId}'`, "NotFoundError");
        }
        if (found.run.filesGone) return failure(ErrorCode.NotFound, found.run.filesGone, "NotFoundError");
        const { size } = upload.content;
        if (offset > size) {
          return validationFailure(`readRunUpload: 'offset' (${offset}) is past the upload's ${size} bytes`, "offset");
        }
        // One chunk per answer (1 MiB at most), and a few reads per plugin at once: a plugin asking for many reads
        // of a large upload at once cannot make the host hold them all.
        const going = this.readsGoing.get(ctx.pluginId) ?? 0;
        if (going >= MAX_CONCURRENT_UPLOAD_READS) {
          return failure(
            ErrorCode.Busy,
            `readRunUpload: plugin '${ctx.pluginId}' already has ${MAX_CONCURRENT_UPLOAD_READS} upload reads going (the most at once)`,
            "SdkError",
            { limit: MAX_CONCURRENT_UPLOAD_READS },
          );
        }
        this.readsGoing.set(ctx.pluginId, going + 1);
        try {
          const want = Math.min(length ?? MAX_RUN_UPLOAD_READ_BYTES, MAX_RUN_UPLOAD_READ_BYTES, size - offset);
          const data = Buffer.alloc(want);
          const handle = await fs.promises.open(upload.content.path, "r");
          try {
            let read = 0;
            while (read < want) {
              if (ctx.cancel?.canceled) {
                return failure(ErrorCode.Canceled, "readRunUpload: the read was canceled", "SdkError");
              }
              const { bytesRead } = await handle.read(data, read, want - read, offset + read);
              if (bytesRead === 0) break;
              read += bytesRead;
            }
            return { ok: true, value: { ...uploadInfo(upload.view), offset, data: data.subarray(0, read) } };
          } finally {
            await handle.close();
          }
        } catch (error) {
          return failure(ErrorCode.NotFound, `the upload '${uploadId}' could not be read (${describe(error)})`);
        } finally {
          const left = (this.readsGoing.get(ctx.pluginId) ?? 1) - 1;
          if (left > 0) this.readsGoing.set(ctx.pluginId, left);
          else this.readsGoing.delete(ctx.pluginId);
        }
      }),
    );
    this.owned.add(
      services.handle("run.finish", ({ runId, data, reply }, ctx) => {
        const found = this.activeRun(runId, ctx);
        if ("error" in found) return found.error;
        const { run } = found;
        this.end(run, "succeeded", { result: data, reply });
        return { ok: true, value: { runId: run.id, status: run.machine.state } };
      }),
    );
  }
}

/** What an export item counts against its run's byte limit: its text, its JSON, or its URL. */
function exportBytes(item: RunExportInput): number {
  switch (item.type) {
    case "text":
      return Buffer.byteLength(item.text);
    case "json":
      return Buffer.byteLength(JSON.stringify(item.json));
    case "url":
      return item.url.length;
    case "binary_url":
      return item.url.length + (item.name?.length ?? 0) + (item.mime?.length ?? 0);
    case "binary":
      // The bytes count against the binary budget; the item itself (name, mime) against this one.
      return (item.name?.length ?? 0) + (item.mime?.length ?? 0);
  }
}

/** What an export item counts against its run's byte limit: its content (above) and its label. */
function itemBytes(item: RunExportInput): number {
  return exportBytes(item) + (item.label === undefined ? 0 : Buffer.byteLength(item.label));
}

function uploadInfo(view: RunUploadView): RunUploadInfo {
  return { uploadId: view.upload_id, name: view.name, mime: view.mime, size: view.size, time: view.time };
}

/**
 * An uploaded or exported file's name as shown, handed to the plugin and put in a download's `content-disposition`:
 * format characters (bidi overrides, zero-width ones: `\p{Cf}`) dropped; control characters and `/ \ " : * ? < > |`
 * replaced by `_`; a run of leading dots replaced by one `_`; trailing dots and spaces dropped; at most 255
 * characters; `upload.bin` when nothing is left. It is never a path on disk.
 */
export function safeFileName(name: string, fallback = "upload.bin"): string {
  const safe = name
    .replace(/\p{Cf}/gu, "")
    .replace(/[\p{Cc}\\/":*?<>|]/gu, "_")
    .replace(/^\.+/, "_")
    .replace(/[. ]+$/, "");
  const cut = [...safe].slice(0, 255).join("");
  return cut === "" || cut === "_" ? fallback : cut;
}

function started(run: Run, deduplicated: boolean): StartedRun {
  return { run_id: run.id, status: run.machine.state, run_token: run.token?.toString() ?? null, deduplicated };
}

/**
 * What must match for a repeated idempotency key to be the same request: the args, the timeout and the task id, as
 * a SHA-256 (the run keeps 64 characters, not a copy of its args).
 */
function requestFingerprint(request: StartRunRequest): string {
  const json = stableJson([request.args ?? {}, request.timeoutMs ?? null, request.taskId ?? null]);
  return createHash("sha256").update(json).digest("hex");
}

/** Codes the host answers before the plugin ran anything: a run ending with one does not hold its idempotency key. */
const REFUSED_BEFORE_DISPATCH: ReadonlySet<string> = new Set([
  ErrorCode.PluginNotRunning,
  ErrorCode.PluginNotFound,
  ErrorCode.EntryNotFound,
  ErrorCode.EntryDisabled,
]);

function runFinished(run: Run): WireFailure {
  return failure(ErrorCode.RunFinished, `run '${run.id}' has already finished (${run.machine.state})`, "SdkError", {
    status: run.machine.state,
  });
}

function noLongerKept(runId: string): WireFailure {
  return failure(ErrorCode.NotFound, `run '${runId}' is no longer kept`, "NotFoundError");
}

/** JSON with every object's keys sorted, so `{a,b}` and `{b,a}` are the same request. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

function describe(error: unknown): string {
  return (error as NodeJS.ErrnoException)?.code ?? (error instanceof Error ? error.message : String(error));
}

function view(run: Run): RunView {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return {
    run_id: run.id,
    kind: run.kind,
    plugin_id: run.pluginId,
    entry_id: run.entryId,
    task_id: run.taskId,
    trace_id: run.traceId,
    idempotency_key: run.idempotencyKey,
    status: run.machine.state,
    progress: run.progress,
    stage: run.stage,
    message: run.message,
    step: run.step,
    step_total: run.stepTotal,
    eta_seconds: run.eta,
    result: run.result,
    reply: run.reply,
    error: run.error ? { code: run.error.code, message: run.error.message, details: run.error.details ?? null } : null,
    created_at: new Date(run.createdAt).toISOString(),
    started_at: iso(run.startedAt),
    finished_at: iso(run.finishedAt),
    updated_at: new Date(run.updatedAt).toISOString(),
    exports: run.exports.length,
  };
}

function canceledError(message: string): WireError {
  return { name: "SdkError", code: ErrorCode.Canceled, message };
}
