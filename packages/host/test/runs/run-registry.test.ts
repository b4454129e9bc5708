/**
 * The run registry's own logic, with a fake host: idempotency keys (scope, conflicts, forgotten with the run),
 * steps and eta, progress 100 on success, and `binary` exports written under `<dataDir>/runs/<host>/<run_id>/` within
 * their budget and deleted with the run.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { Canceler, type CancelToken, type WireResult } from "@neko/protocol";
import {
  type RunExportContent,
  type RunFileLookup,
  RunRegistry,
  type RunRegistryOptions,
  type StartedRun,
  safeFileName,
} from "../../src/runs/run-registry.ts";
import { fakeHostContext } from "../support/fake-host-context.ts";

let dataDir: string;
let registry: RunRegistry | undefined;
/** Entry calls the fake plugin has been asked for, each answered when the test says so. */
let pending: { entryId: string; args: unknown; answer: (r: WireResult) => void }[];

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-runs-unit-"));
  pending = [];
});
afterEach(() => {
  registry?.dispose();
  registry = undefined;
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function makeRegistry(options: RunRegistryOptions = {}) {
  const fake = fakeHostContext(
    { p: { state: "running" } },
    {
      operations: {
        callEntry: (_pluginId, entryId, args) =>
          new Promise<WireResult>((resolve) => pending.push({ entryId, args, answer: resolve })),
      },
    },
  );
  registry = new RunRegistry({ ...fake.ctx, dataDir }, options);
  const request = (method: string, params: object, extra: { cancel?: CancelToken } = {}) =>
    fake.services.request(method, params, { pluginId: "p", deadline: Date.now() + 5000, ...extra });
  return { registry, request };
}

const startedOf = (r: WireResult): StartedRun => {
  assert.ok(r.ok, JSON.stringify(r));
  return r.value as StartedRun;
};
const tick = () => new Promise((r) => setImmediate(r));
/** A file lookup that must be a file (not `{ gone }`). */
const fileOf = (found: RunFileLookup): RunExportContent | undefined => {
  assert.ok(!(found && "gone" in found), JSON.stringify(found));
  return found as RunExportContent | undefined;
};

test("a repeated key for the same plugin and entry answers with the first run; the scope is plugin + entry", () => {
  const { registry } = makeRegistry();
  const first = startedOf(registry.start({ pluginId: "p", entryId: "e", args: { a: 1, b: [2] }, idempotencyKey: "k" }));
  assert.equal(first.deduplicated, false);
  const again = startedOf(
    registry.start({ pluginId: "p", entryId: "e", args: { b: [2], a: 1 }, idempotencyKey: "k", traceId: "other" }),
  );
  assert.deepEqual(again, { ...first, deduplicated: true }, "same args in another key order, another trace id");
  assert.equal(pending.length, 1, "the entry was called once");
  const otherEntry = startedOf(registry.start({ pluginId: "p", entryId: "f", idempotencyKey: "k" }));
  assert.notEqual(otherEntry.run_id, first.run_id);
  const noKey = startedOf(registry.start({ pluginId: "p", entryId: "e", args: { a: 1, b: [2] } }));
  assert.notEqual(noKey.run_id, first.run_id);
  assert.equal(pending.length, 3);
});

test("a repeated key with other args, timeout or task_id is IDEMPOTENCY_CONFLICT naming the first run", () => {
  const { registry } = makeRegistry();
  const first = startedOf(
    registry.start({ pluginId: "p", entryId: "e", args: { a: 1 }, timeoutMs: 1000, taskId: "t", idempotencyKey: "k" }),
  );
  for (const change of [{ args: { a: 2 } }, { timeoutMs: 2000 }, { taskId: "u" }, { args: {} }]) {
    const r = registry.start({
      pluginId: "p",
      entryId: "e",
      args: { a: 1 },
      timeoutMs: 1000,
      taskId: "t",
      idempotencyKey: "k",
      ...change,
    });
    assert.equal(r.ok, false, JSON.stringify(change));
    if (r.ok) continue;
    assert.equal(r.error.code, "IDEMPOTENCY_CONFLICT");
    assert.deepEqual(r.error.details, { idempotency_key: "k", run_id: first.run_id });
  }
  assert.equal(pending.length, 1);
  assert.equal(registry.list().length, 1);
});

test("a key is remembered while its run is kept, finished or not, and forgotten with it", async () => {
  const { registry } = makeRegistry({ keepFinished: 2 });
  const first = startedOf(registry.start({ pluginId: "p", entryId: "e", idempotencyKey: "k" }));
  pending[0].answer({ ok: true, value: "done" });
  await tick();
  const whileKept = startedOf(registry.start({ pluginId: "p", entryId: "e", idempotencyKey: "k" }));
  assert.deepEqual([whileKept.run_id, whileKept.status, whileKept.deduplicated], [first.run_id, "succeeded", true]);
  for (let i = 0; i < 2; i++) {
    registry.start({ pluginId: "p", entryId: "other" });
    pending.at(-1)?.answer({ ok: true, value: i });
    await tick();
  }
  assert.equal(registry.get(first.run_id), undefined, "the first run is no longer kept");
  const fresh = startedOf(registry.start({ pluginId: "p", entryId: "e", idempotencyKey: "k" }));
  assert.notEqual(fresh.run_id, first.run_id);
  assert.equal(fresh.deduplicated, false);
});

test("an unknown plugin makes no run and claims no key", () => {
  const { registry } = makeRegistry();
  const r = registry.start({ pluginId: "ghost", entryId: "e", idempotencyKey: "k" });
  assert.equal(r.ok, false);
  assert.equal(startedOf(registry.start({ pluginId: "p", entryId: "e", idempotencyKey: "k" })).deduplicated, false);
});

test("task_id, trace_id and idempotency_key show on the run; steps and eta are kept; success puts progress at 100", async () => {
  const { registry, request } = makeRegistry();
  const { run_id } = startedOf(
    registry.start({ pluginId: "p", entryId: "e", taskId: "t1", traceId: "tr", idempotencyKey: "k1" }),
  );
  assert.deepEqual(await request("run.update", { runId: run_id, step: 1, stepTotal: 4, eta: 12.5, progress: 25 }), {
    ok: true,
    value: { runId: run_id, status: "running" },
  });
  const bad = await request("run.update", { runId: run_id, step: 5 });
  assert.equal(bad.ok, false);
  if (!bad.ok) {
    assert.equal(bad.error.code, "VALIDATION_ERROR");
    assert.deepEqual(bad.error.details, { field: "step" });
  }
  const badTotal = await request("run.update", { runId: run_id, stepTotal: 0 });
  assert.ok(!badTotal.ok && (badTotal.error.details as { field: string }).field === "stepTotal");
  let run = registry.get(run_id);
  assert.deepEqual(
    [run?.task_id, run?.trace_id, run?.idempotency_key, run?.step, run?.step_total, run?.eta_seconds, run?.progress],
    ["t1", "tr", "k1", 1, 4, 12.5, 25],
  );
  pending[0].answer({ ok: true, value: null });
  await tick();
  run = registry.get(run_id);
  assert.equal(run?.status, "succeeded");
  assert.equal(run?.progress, 100);
});

test("binary exports: one file each under <dataDir>/runs/<host>/<run_id>/, within the run's budget, deleted with the run", async () => {
  const { registry, request } = makeRegistry({ keepFinished: 1, maxBinaryBytes: 10 });
  const { run_id } = startedOf(registry.start({ pluginId: "p", entryId: "e" }));
  const push = (binary: Uint8Array, extra: object = {}) =>
    request("run.export", { runId: run_id, item: { type: "binary", binary, ...extra } });
  // Two pushes at once: both claim their bytes before either is written.
  const [a, b] = await Promise.all([push(new Uint8Array(6).fill(1)), push(new Uint8Array(6).fill(2))]);
  assert.deepEqual(
    [a.ok, b.ok].sort(),
    [false, true],
    "the budget holds for pushes made at once (one of 6 + 6 > 10 bytes is refused)",
  );
  const refused = (a.ok ? b : a) as Extract<WireResult, { ok: false }>;
  assert.equal(refused.error.code, "RUN_EXPORT_LIMIT");
  assert.deepEqual(refused.error.details, { limit: 10, held: 6, size: 6 });
  const small = await push(new Uint8Array([9, 9, 9, 9]), { mime: "image/png", name: "x.png" });
  assert.deepEqual(small, { ok: true, value: { runId: run_id, seq: 2 } });
  const dir = path.join(registry.filesDir, run_id);
  assert.equal(path.dirname(registry.filesDir), path.join(dataDir, "runs"), "the host's own folder under runs/");
  assert.equal(fs.readdirSync(dir).length, 2);
  const content = fileOf(registry.exportContent(run_id, 2));
  assert.deepEqual(content && { ...content, path: path.dirname(content.path) }, {
    path: dir,
    mime: "image/png",
    name: "x.png",
    size: 4,
  });
  assert.deepEqual([...fs.readFileSync(content?.path ?? "")], [9, 9, 9, 9]);
  assert.equal(registry.exportContent(run_id, 3), undefined);
  const items = registry.exports(run_id)?.items ?? [];
  assert.equal(items[1].content_url, `/runs/${run_id}/export/2/content`);
  assert.ok(!("binary" in items[1]), "the bytes are not kept in memory");

  pending[0].answer({ ok: true, value: null });
  await tick();
  registry.start({ pluginId: "p", entryId: "e" });
  pending[1].answer({ ok: true, value: null });
  await tick();
  assert.equal(registry.get(run_id), undefined);
  assert.ok(!fs.existsSync(dir), "the run's folder went with it");
});

test("attacker: a second host on the same data folder deletes only the folders of hosts that are gone, and at stop only its own", () => {
  const runs = path.join(dataDir, "runs");
  const folder = (name: string, owner?: object) => {
    const dir = path.join(runs, name);
    fs.mkdirSync(path.join(dir, "some-run"), { recursive: true });
    fs.writeFileSync(path.join(dir, "some-run", "x.bin"), "x");
    if (owner) fs.writeFileSync(path.join(dir, "owner.json"), JSON.stringify(owner));
    return dir;
  };
  const live = folder("1-live", { pid: process.pid });
  const dead = folder("2-dead", { pid: 2 ** 30 }); // no such process
  const legacy = folder("old-run-id"); // the layout before per-host folders: no owner
  const starting = folder("3-starting"); // a host between making its folder and writing its owner file
  const garbled = folder("4-garbled", { pid: "1" });
  const first = makeRegistry().registry;
  assert.ok(fs.existsSync(path.join(live, "some-run", "x.bin")), "a live host's files are kept");
  assert.ok(fs.existsSync(starting), "a new folder without an owner yet is left alone");
  for (const gone of [dead, legacy, garbled]) assert.ok(!fs.existsSync(gone), gone);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(first.filesDir, "owner.json"), "utf8")).pid, process.pid);
  // A second registry (another host) on the same folder, started and stopped: the first's folder stays.
  const second = new RunRegistry({ ...fakeHostContext({}).ctx, dataDir });
  assert.notEqual(second.filesDir, first.filesDir);
  assert.ok(fs.existsSync(first.filesDir), "a second host's start keeps the first's folder");
  second.dispose();
  assert.ok(!fs.existsSync(second.filesDir), "its own folder went at stop");
  assert.ok(fs.existsSync(first.filesDir), "a second host's stop keeps the first's folder");
  assert.ok(fs.existsSync(live));
  first.dispose();
  assert.ok(!fs.existsSync(first.filesDir));
  assert.ok(fs.existsSync(live), "stopping never deletes another host's folder");
});

test("uploads: stored for an active run under its folder, named safely, read by its own plugin only", async () => {
  const { registry, request } = makeRegistry({ maxBinaryBytes: 8 });
  const { run_id } = startedOf(registry.start({ pluginId: "p", entryId: "e" }));
  const stored = await registry.upload(run_id, { name: "../../x", mime: "text/plain", body: new Uint8Array([1, 2]) });
  assert.ok(stored.ok);
  const view = stored.value as { upload_id: string; name: string; size: number };
  assert.deepEqual([view.name, view.size], ["__.._x", 2]);
  assert.equal(
    path.dirname(fileOf(registry.uploadContent(run_id, view.upload_id))?.path ?? ""),
    path.join(registry.filesDir, run_id),
  );
  const over = await registry.upload(run_id, { name: "y", mime: "text/plain", body: new Uint8Array(7) });
  assert.ok(!over.ok && over.error.code === "PAYLOAD_TOO_LARGE");
  const listed = await request("run.uploads", { runId: run_id });
  assert.ok(listed.ok);
  assert.deepEqual(
    (listed.value as { uploadId: string; name: string }[]).map((u) => [u.uploadId, u.name]),
    [[view.upload_id, "__.._x"]],
  );
  const read = await request("run.upload.read", { runId: run_id, uploadId: view.upload_id });
  assert.ok(read.ok);
  assert.deepEqual([...(read.value as { data: Uint8Array }).data], [1, 2]);
  const missing = await request("run.upload.read", { runId: run_id, uploadId: "nope" });
  assert.ok(!missing.ok && missing.error.code === "NOT_FOUND");
  pending[0].answer({ ok: true, value: null });
  await tick();
  const late = await registry.upload(run_id, { name: "z", mime: "text/plain", body: new Uint8Array(1) });
  assert.ok(!late.ok && late.error.code === "RUN_FINISHED");
  assert.equal((await registry.upload("ghost", { name: "z", mime: "x/y", body: new Uint8Array(1) })).ok, false);
});

test("safeFileName: no path separators, quotes, controls or leading dots; never empty", () => {
  assert.equal(safeFileName("../../etc/passwd"), "__.._etc_passwd");
  assert.equal(safeFileName("invoice\u202Efdp.exe"), "invoicefdp.exe", "a right-to-left override is dropped");
  assert.equal(safeFileName("a\u200Bb\uFEFFc\u2066d"), "abcd", "zero-width and isolate characters are dropped");
  assert.equal(safeFileName("C:a*b?c<d>e|f"), "C_a_b_c_d_e_f");
  assert.equal(safeFileName("report.pdf. . "), "report.pdf", "trailing dots and spaces are dropped");
  assert.equal(safeFileName("..."), "upload.bin");
  assert.equal(safeFileName("\u202E"), "upload.bin");
  assert.equal(safeFileName('a\\b"c\u0000d\u007f'), "a_b_c_d_");
  assert.equal(safeFileName(".hidden"), "_hidden");
  assert.equal(safeFileName(""), "upload.bin");
  assert.equal(safeFileName("x".repeat(300)).length, 255);
  assert.equal(safeFileName("résumé.pdf"), "résumé.pdf");
});

/** A body that yields `first`, then waits for `release()` before it yields `rest` (or throws `fail`). */
function gatedBody(first: Uint8Array, rest?: Uint8Array) {
  let release!: (fail?: Error) => void;
  const gate = new Promise<Error | undefined>((resolve) => {
    release = resolve;
  });
  let sent = false;
  const body: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      async next() {
        if (!sent) {
          sent = true;
          return { done: false, value: first };
        }
        const fail = await gate;
        if (fail) throw fail;
        if (rest) {
          const value = rest;
          rest = undefined;
          return { done: false, value };
        }
        return { done: true, value: undefined };
      },
    }),
  };
  return { body, release };
}

test("idempotency: a run keeps a SHA-256 of its request only when it has a key, never a copy of its args", () => {
  const { registry } = makeRegistry();
  const big = { text: "x".repeat(10_000) };
  const plain = startedOf(registry.start({ pluginId: "p", entryId: "e", args: big }));
  const keyed = startedOf(registry.start({ pluginId: "p", entryId: "e", args: big, idempotencyKey: "k" }));
  const held = (registry as any).runs as Map<string, { fingerprint: string | null }>;
  assert.equal(held.get(plain.run_id)?.fingerprint, null, "no key: nothing kept");
  assert.match(held.get(keyed.run_id)?.fingerprint ?? "", /^[0-9a-f]{64}$/);
});

test("a key whose run failed before the plugin ran anything (plugin not running) is not held: a retry starts a new run", async () => {
  const { registry } = makeRegistry();
  const first = startedOf(registry.start({ pluginId: "p", entryId: "e", idempotencyKey: "k" }));
  pending[0].answer({ ok: false, error: { name: "SdkError", code: "PLUGIN_NOT_RUNNING", message: "stopped" } });
  await tick();
  assert.equal(registry.get(first.run_id)?.status, "failed");
  const retry = startedOf(registry.start({ pluginId: "p", entryId: "e", idempotencyKey: "k" }));
  assert.notEqual(retry.run_id, first.run_id);
  assert.equal(retry.deduplicated, false);
  // A failure of the entry itself keeps the key: the entry ran.
  pending[1].answer({ ok: false, error: { name: "SdkError", code: "ENTRY_FAILED", message: "boom" } });
  await tick();
  assert.equal(startedOf(registry.start({ pluginId: "p", entryId: "e", idempotencyKey: "k" })).run_id, retry.run_id);
});

test("attacker: run.upload.read answers at most 1 MiB per call, a few reads per plugin at once, and stops when canceled", async () => {
  const { registry, request } = makeRegistry();
  const { run_id } = startedOf(registry.start({ pluginId: "p", entryId: "e" }));
  const bytes = new Uint8Array(2.5 * 1024 * 1024).map((_, i) => i % 251);
  const stored = await registry.upload(run_id, { name: "big.bin", mime: "application/octet-stream", body: bytes });
  assert.ok(stored.ok, JSON.stringify(stored));
  const uploadId = (stored.value as { upload_id: string }).upload_id;
  const read = (params: object, extra = {}) =>
    request("run.upload.read", { runId: run_id, uploadId, ...params }, extra) as Promise<WireResult>;
  const chunkOf = (r: WireResult) => {
    assert.ok(r.ok, JSON.stringify(r));
    return r.value as { offset: number; size: number; data: Uint8Array };
  };
  const first = chunkOf(await read({}));
  assert.deepEqual([first.offset, first.size, first.data.byteLength], [0, bytes.length, 1024 * 1024]);
  const last = chunkOf(await read({ offset: 2 * 1024 * 1024 }));
  assert.equal(last.data.byteLength, 0.5 * 1024 * 1024);
  assert.deepEqual([...last.data.subarray(0, 3)], [...bytes.subarray(2 * 1024 * 1024, 2 * 1024 * 1024 + 3)]);
  const small = chunkOf(await read({ offset: 10, length: 5 }));
  assert.deepEqual([...small.data], [...bytes.subarray(10, 15)]);
  for (const [params, field, message] of [
    [{ length: 2 * 1024 * 1024 }, "length", /'length' must be a whole number from 1 to 1048576/],
    [{ offset: -1 }, "offset", /'offset' must be a whole number/],
    [{ offset: bytes.length + 1 }, "offset", /'offset' \(2621441\) is past the upload's 2621440 bytes/],
    [{ uploadId: "u".repeat(65) }, "uploadId", /'uploadId' is too long \(at most 64 characters\)/],
  ] as const) {
    const r = await read(params);
    assert.ok(!r.ok, JSON.stringify(params));
    assert.equal(r.error.code, "VALIDATION_ERROR");
    assert.equal((r.error.details as { field?: string })?.field, field);
    assert.match(r.error.message, message);
  }
  // Forty reads at once: eight are served, the rest are BUSY naming the limit (the host holds 8 MiB at most).
  const many = await Promise.all(Array.from({ length: 40 }, () => read({})));
  assert.equal(many.filter((r) => r.ok).length, 8);
  const busy = many.find((r) => !r.ok) as Extract<WireResult, { ok: false }>;
  assert.equal(busy.error.code, "BUSY");
  assert.deepEqual(busy.error.details, { limit: 8 });
  assert.ok(chunkOf(await read({})), "the slots are free again afterwards");
  const canceled = new Canceler();
  canceled.cancel();
  const r = await read({}, { cancel: canceled });
  assert.ok(!r.ok && r.error.code === "CANCELED", JSON.stringify(r));
});

test("exports: a label is at most 1024 characters and counts against the run's 8 MiB of items", async () => {
  const { registry, request } = makeRegistry();
  const { run_id } = startedOf(registry.start({ pluginId: "p", entryId: "e" }));
  const long = await request("run.export", {
    runId: run_id,
    item: { type: "text", text: "x", label: "l".repeat(1025) },
  });
  assert.ok(!long.ok);
  assert.equal(long.error.code, "VALIDATION_ERROR");
  assert.match(long.error.message, /'label' is 1025 characters; at most 1024/);
  const text = "t".repeat(8 * 1024 * 1024 - 500);
  const over = await request("run.export", { runId: run_id, item: { type: "text", text, label: "l".repeat(1000) } });
  assert.ok(!over.ok && over.error.code === "RUN_EXPORT_LIMIT", "text + label pass 8 MiB together");
  assert.ok((await request("run.export", { runId: run_id, item: { type: "text", text, label: "l".repeat(400) } })).ok);
});

test("uploads and exports being written are counted apart: a pending upload does not take an export's place", async () => {
  const { registry, request } = makeRegistry();
  const { run_id } = startedOf(registry.start({ pluginId: "p", entryId: "e" }));
  for (let i = 0; i < 999; i++) {
    assert.ok((await request("run.export", { runId: run_id, item: { type: "text", text: "x" } })).ok);
  }
  const gated = gatedBody(new Uint8Array([1]));
  const upload = registry.upload(run_id, { name: "u", mime: "x/y", body: gated.body });
  await tick();
  const last = await request("run.export", { runId: run_id, item: { type: "text", text: "x" } });
  assert.deepEqual(last, { ok: true, value: { runId: run_id, seq: 1000 } });
  gated.release();
  assert.ok((await upload).ok);
});

test("an upload that arrives while its run finishes is not kept: 409 RUN_FINISHED, and no file stays", async () => {
  const { registry } = makeRegistry();
  const { run_id } = startedOf(registry.start({ pluginId: "p", entryId: "e" }));
  const gated = gatedBody(new Uint8Array([1, 2]), new Uint8Array([3]));
  const upload = registry.upload(run_id, { name: "u", mime: "x/y", body: gated.body });
  await tick();
  pending[0].answer({ ok: true, value: null });
  await tick();
  gated.release();
  const r = await upload;
  assert.ok(!r.ok && r.error.code === "RUN_FINISHED", JSON.stringify(r));
  assert.deepEqual(registry.uploads(run_id), []);
  await tick();
  const dir = path.join(registry.filesDir, run_id);
  assert.deepEqual(fs.existsSync(dir) ? fs.readdirSync(dir) : [], [], "no file stays");
});

test("an upload whose run is forgotten while it arrives answers NOT_FOUND, not INTERNAL_ERROR", async () => {
  const { registry } = makeRegistry({ keepFinished: 0 });
  const { run_id } = startedOf(registry.start({ pluginId: "p", entryId: "e" }));
  const gated = gatedBody(new Uint8Array([1, 2]));
  const upload = registry.upload(run_id, { name: "u", mime: "x/y", body: gated.body });
  await tick();
  pending[0].answer({ ok: true, value: null }); // ends, and is forgotten at once (none kept)
  await tick();
  assert.equal(registry.get(run_id), undefined);
  gated.release(new Error("the client went away"));
  const r = await upload;
  assert.ok(!r.ok, JSON.stringify(r));
  assert.equal(r.error.code, "NOT_FOUND");
  assert.match(r.error.message, /is no longer kept/);
});

test("files written after the registry stopped do not stay", async () => {
  const { registry } = makeRegistry();
  const { run_id } = startedOf(registry.start({ pluginId: "p", entryId: "e" }));
  registry.dispose();
  const r = await registry.upload(run_id, { name: "u", mime: "x/y", body: new Uint8Array([1]) });
  assert.ok(!r.ok && r.error.code === "SHUTTING_DOWN", JSON.stringify(r));
  assert.ok(!fs.existsSync(registry.filesDir), "the folder was not made again");
});

test("runs.maxTotalFileBytes: past it the oldest finished runs' files go first (their downloads say why); active runs' bytes are never taken", async () => {
  const { registry, request } = makeRegistry({ maxTotalFileBytes: 10 });
  const push = (runId: string, size: number) =>
    request("run.export", { runId, item: { type: "binary", binary: new Uint8Array(size).fill(7) } });
  const old = startedOf(registry.start({ pluginId: "p", entryId: "e" })).run_id;
  assert.ok((await push(old, 6)).ok);
  pending[0].answer({ ok: true, value: null });
  await tick();
  const fresh = startedOf(registry.start({ pluginId: "p", entryId: "e" })).run_id;
  assert.ok((await push(fresh, 6)).ok, "the old run's files make room");
  const gone = registry.exportContent(old, 1);
  assert.ok(gone && "gone" in gone);
  assert.match(gone.gone, /deleted to keep the host's run files under runs.maxTotalFileBytes \(10 bytes\)/);
  assert.ok(!fs.existsSync(path.join(registry.filesDir, old)), "its folder is deleted");
  assert.equal(registry.exports(old)?.total, 1, "its listing stays");
  assert.ok(fileOf(registry.exportContent(fresh, 1)), "the new run's file is there");
  const third = startedOf(registry.start({ pluginId: "p", entryId: "e" })).run_id;
  const refused = await push(third, 6);
  assert.ok(!refused.ok);
  assert.equal(refused.error.code, "RUN_EXPORT_LIMIT");
  assert.match(refused.error.message, /would pass runs.maxTotalFileBytes \(10\), and only active runs hold them/);
  assert.deepEqual(refused.error.details, { limit: 10, held: 6, size: 6, field: "runs.maxTotalFileBytes" });
  const upload = await registry.upload(third, { name: "u", mime: "x/y", size: 6, body: new Uint8Array(6) });
  assert.ok(!upload.ok && upload.error.code === "PAYLOAD_TOO_LARGE", JSON.stringify(upload));
  assert.ok((await push(third, 4)).ok, "what still fits is stored");
});
