/**
 * Runs (SPEC §5.1): an entry call started asynchronously (`POST /runs`) or by `POST /plugin/trigger`, followed
 * through its states, with progress, stage and message (`this.runUpdate`), exported items (`this.exportPush`)
 * and an early result (`this.finish`). Cancel aborts the handler's signal. The latest finished runs are kept
 * (500 by default; trigger runs go first). Each run has a `run_token`: a bearer secret good for that run's routes
 * only. A `POST /runs` may carry an `idempotency_key`: a repeat of it answers with the first run instead of starting
 * another. `binary` exports are files under `<dataDir>/runs/<run_id>/`, deleted with the run. Documented in
 * docs/runs.md.
 */
import { randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
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
  /** A `binary` export's file; undefined when the run or that item is not there, or the item is not `binary`. */
  exportContent(runId: string, seq: number): RunExportContent | undefined;
  /**
   * Stores a file for an active run (`POST /runs/{id}/uploads`): its plugin can list and read it. `Err` `NOT_FOUND`,
   * `RUN_FINISHED`, or `PAYLOAD_TOO_LARGE` past the run's count or bytes.
   */
  upload(runId: string, file: { name: string; mime: string; bytes: Uint8Array }): Promise<WireResult>;
  /** The run's uploads, oldest first; undefined when there is no such run. */
  uploads(runId: string): RunUploadView[] | undefined;
  uploadContent(runId: string, uploadId: string): RunExportContent | undefined;
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
  /** The key in `idempotency` this run holds, and what its request was (args, timeout, task id). */
  idempotencySlot: string | null;
  fingerprint: string;
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
  /** `<dataDir>/runs`: one folder per run with files (`binary` exports). */
  private readonly filesDir: string;
  private readonly finished: Record<RunKind, string[]> = { run: [], trigger: [] };
  private readonly changes: Emitter<RunView>;
  private readonly owned = new DisposableStore();

  constructor(
    private readonly ctx: HostContext,
    private readonly options: RunRegistryOptions = {},
  ) {
    this.changes = this.owned.add(new Emitter((error) => ctx.logger.error({ err: error }, "a run listener failed")));
    this.filesDir = path.join(ctx.dataDir, "runs");
    // Runs live in memory: files of a previous host's runs belong to no run any more.
    this.removeFiles(this.filesDir);
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
    const fingerprint = requestFingerprint(request);
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

  exportContent(runId: string, seq: number): RunExportContent | undefined {
    return this.runs.get(runId)?.files.get(seq);
  }

  async upload(runId: string, file: { name: string; mime: string; bytes: Uint8Array }): Promise<WireResult> {
    const run = this.runs.get(runId);
    if (!run) return failure(ErrorCode.NotFound, `no run '${runId}'`, "NotFoundError");
    if (run.machine.finished) {
      return failure(ErrorCode.RunFinished, `run '${runId}' has already finished (${run.machine.state})`, "SdkError", {
        status: run.machine.state,
      });
    }
    const size = file.bytes.byteLength;
    const budget = this.options.maxBinaryBytes ?? MAX_RUN_BINARY_BYTES;
    if (run.uploads.size + run.pendingExports >= MAX_RUN_UPLOADS || run.binaryBytes + size > budget) {
      return failure(
        ErrorCode.PayloadTooLarge,
        `run '${runId}' holds the most files it may: ${MAX_RUN_UPLOADS} uploads, ${budget} bytes of uploads and binary exports together (it holds ${run.binaryBytes})`,
        "SdkError",
        { limit: budget, held: run.binaryBytes, size },
      );
    }
    run.binaryBytes += size;
    run.pendingExports += 1;
    let path: string;
    try {
      path = await this.writeRunFile(run, file.bytes);
    } catch (error) {
      run.binaryBytes -= size;
      this.ctx.logger.error({ err: error, runId }, "could not write a run's upload");
      return failure(ErrorCode.Internal, `the host could not store the upload (${describe(error)})`);
    } finally {
      run.pendingExports -= 1;
    }
    if (this.runs.get(run.id) !== run) {
      this.removeFiles(this.runDir(run.id));
      return failure(ErrorCode.NotFound, `run '${runId}' is no longer kept`, "NotFoundError");
    }
    const id = randomUUID();
    const name = safeFileName(file.name);
    const view: RunUploadView = {
      upload_id: id,
      name,
      mime: file.mime,
      size,
      time: new Date().toISOString(),
      content_url: `/runs/${run.id}/uploads/${id}`,
    };
    run.uploads.set(id, { view, content: { path, mime: file.mime, name, size } });
    this.touch(run);
    return { ok: true, value: view };
  }

  uploads(runId: string): RunUploadView[] | undefined {
    const run = this.runs.get(runId);
    return run && [...run.uploads.values()].map((u) => u.view);
  }

  uploadContent(runId: string, uploadId: string): RunExportContent | undefined {
    return this.runs.get(runId)?.uploads.get(uploadId)?.content;
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

  /** Clears timers and the runs' files; runs still going end when their plugins stop. */
  dispose(): void {
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
      fingerprint: "",
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
    if (run.idempotencySlot !== null && this.idempotency.get(run.idempotencySlot) === run.id) {
      this.idempotency.delete(run.idempotencySlot);
    }
    if (run.files.size > 0 || run.uploads.size > 0 || run.pendingExports > 0) this.removeFiles(this.runDir(run.id));
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
   * Writes a `binary` export's or an upload's bytes under the run's folder, with a name the host makes: to a
   * temporary name first, so a failed write leaves no half file behind.
   */
  private async writeRunFile(run: Run, bytes: Uint8Array): Promise<string> {
    const dir = this.runDir(run.id);
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${randomUUID()}.bin`);
    const partial = `${file}.part`;
    try {
      await fs.promises.writeFile(partial, bytes, { flag: "wx", mode: 0o600 });
      await fs.promises.rename(partial, file);
    } catch (error) {
      await fs.promises.rm(partial, { force: true }).catch(() => undefined);
      throw error;
    }
    return file;
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
        const bytes = exportBytes(item);
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
        const budget = this.options.maxBinaryBytes ?? MAX_RUN_BINARY_BYTES;
        if (run.binaryBytes + size > budget) {
          return failure(
            ErrorCode.RunExportLimit,
            `exportPush: ${size} more bytes would pass the ${budget} bytes of binary exports a run may hold (it holds ${run.binaryBytes})`,
            "SdkError",
            { limit: budget, held: run.binaryBytes, size },
          );
        }
        // Claimed before the write, so pushes made at once cannot pass the limits together.
        run.binaryBytes += size;
        run.exportBytes += bytes;
        run.pendingExports += 1;
        let file: string;
        try {
          file = await this.writeRunFile(run, item.binary);
        } catch (error) {
          run.binaryBytes -= size;
          run.exportBytes -= bytes;
          this.ctx.logger.error({ err: error, runId: run.id }, "could not write a run's binary export");
          return failure(ErrorCode.Internal, `exportPush: the host could not store the bytes (${describe(error)})`);
        } finally {
          run.pendingExports -= 1;
        }
        if (this.runs.get(run.id) !== run) {
          // The run was forgotten while its file was written.
          this.removeFiles(this.runDir(run.id));
          return failure(ErrorCode.NotFound, `run '${run.id}' is no longer kept`, "NotFoundError");
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
      services.handle("run.upload.read", async ({ runId, uploadId }, ctx) => {
        const found = this.activeRun(runId, ctx);
        if ("error" in found) return found.error;
        const upload = found.run.uploads.get(uploadId);
        if (!upload) {
          return failure(ErrorCode.NotFound, `run '${found.run.id}' has no upload '${uploadId}'`, "NotFoundError");
        }
        try {
          const data = await fs.promises.readFile(upload.content.path);
          return { ok: true, value: { ...uploadInfo(upload.view), data } };
        } catch (error) {
          return failure(ErrorCode.NotFound, `the upload '${uploadId}' could not be read (${describe(error)})`);
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

function uploadInfo(view: RunUploadView): RunUploadInfo {
  return { uploadId: view.upload_id, name: view.name, mime: view.mime, size: view.size, time: view.time };
}

/**
 * An uploaded file's name as shown and handed to the plugin: `/ \ "` and control characters replaced, leading dots
 * dropped, at most 255 characters. It is never a path on disk.
 */
export function safeFileName(name: string): string {
  const unsafe = (c: string) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f || '\\/"'.includes(c);
  const safe = [...name]
    .map((c) => (unsafe(c) ? "_" : c))
    .join("")
    .replace(/^\.+/, "_")
    .slice(0, 255);
  return safe === "" ? "upload.bin" : safe;
}

function started(run: Run, deduplicated: boolean): StartedRun {
  return { run_id: run.id, status: run.machine.state, run_token: run.token?.toString() ?? null, deduplicated };
}

/** What must match for a repeated idempotency key to be the same request: the args, the timeout and the task id. */
function requestFingerprint(request: StartRunRequest): string {
  return stableJson([request.args ?? {}, request.timeoutMs ?? null, request.taskId ?? null]);
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
