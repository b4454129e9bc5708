/**
 * Runs through a real plugin process and the real HTTP server, for what a client and a plugin add to a run:
 * `task_id` / `trace_id` / `idempotency_key` on `POST /runs` (a repeated key answers with the first run, even when
 * the requests arrive at once), `runUpdate({ step, stepTotal, eta })`, and `binary` / `binary_url` exports stored
 * under the run's folder and served only as downloads, and files a client uploads to a run for its plugin to read
 * (docs/runs.md).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createPluginServer } from "@neko/server";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";
import { openWs } from "../support/ws-client.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok, unwrap } from "@neko/plugin-sdk/plugin";

const fail = (r: any) => (r.ok ? "ok" : { code: r.error.code, field: r.error.details?.field ?? null, message: r.error.message });

@nekoPlugin
export class Files extends NekoPluginBase {
  @pluginEntry({ id: "slow" })
  async slow({ ms }: { ms: number }) {
    await new Promise((r) => setTimeout(r, ms));
    return Ok("slept");
  }

  @pluginEntry({ id: "quick" })
  quick({ n }: { n: number }) {
    return Ok(n);
  }

  @pluginEntry({ id: "steps" })
  async steps({ holdMs }: { holdMs: number }) {
    unwrap(await this.runUpdate({ step: 2, stepTotal: 5, eta: 3.5, stage: "counting" }));
    await new Promise((r) => setTimeout(r, holdMs));
    unwrap(await this.runUpdate({ step: 5 }));
    return Ok("counted");
  }

  @pluginEntry({ id: "bad_steps" })
  async badSteps() {
    const out = [
      await this.runUpdate({ step: -1 }),
      await this.runUpdate({ step: 1.5 }),
      await this.runUpdate({ stepTotal: "3" as any }),
      await this.runUpdate({ eta: -2 }),
      await this.runUpdate({ eta: Number.NaN }),
      await this.runUpdate({ step: 4, stepTotal: 3 }),
      await this.runUpdate({ stepTotal: 3 }),
      await this.runUpdate({ step: 4 }),
      await this.runUpdate({ step: 3 }),
    ];
    return Ok(out.map(fail));
  }

  @pluginEntry({ id: "binaries" })
  async binaries() {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const html = new TextEncoder().encode("<script>alert(document.cookie)</script>");
    return Ok([
      unwrap(await this.exportPush({ type: "binary", binary: png, mime: "image/png", name: "chart.png", label: "chart" })).seq,
      unwrap(await this.exportPush({ type: "binary", binary: html, mime: "text/html", name: "../../evil.html" })).seq,
      unwrap(await this.exportPush({ type: "binary_url", url: "https://example.com/big.zip", mime: "application/zip", name: "big.zip" })).seq,
      unwrap(await this.exportPush({ type: "binary", binary: new Uint8Array([7]) })).seq,
    ]);
  }

  @pluginEntry({ id: "receive" })
  async receive({ count }: { count: number }) {
    await this.runUpdate({ stage: "waiting" });
    let list = unwrap(await this.runUploads());
    while (list.length < count) {
      await new Promise((r) => setTimeout(r, 25));
      list = unwrap(await this.runUploads());
    }
    const out = [];
    for (const u of list) {
      const file = unwrap(await this.readRunUpload(u.uploadId));
      out.push({ name: file.name, mime: file.mime, size: file.size, length: file.data.length, head: [...file.data.slice(0, 4)] });
    }
    return Ok({ out, missing: fail(await this.readRunUpload("nope")) });
  }

  @pluginEntry({ id: "read_many" })
  async readMany() {
    await this.runUpdate({ stage: "waiting" });
    let list = unwrap(await this.runUploads());
    while (list.length < 1) {
      await new Promise((r) => setTimeout(r, 25));
      list = unwrap(await this.runUploads());
    }
    // Forty reads at once of one upload: the SDK reads in 1 MiB chunks, a few at a time, so none is refused.
    const reads = await Promise.all(Array.from({ length: 40 }, () => this.readRunUpload(list[0].uploadId)));
    return Ok(reads.map((r) => (r.ok ? r.value.data.length + ":" + r.value.data[1000] : r.error.code)));
  }

  @pluginEntry({ id: "bad_binaries" })
  async badBinaries() {
    return Ok([
      fail(await this.exportPush({ type: "binary", binary: new Uint8Array(16 * 1024 * 1024 + 1) })),
      fail(await this.exportPush({ type: "binary", binary: new Uint8Array(0) })),
      fail(await this.exportPush({ type: "binary", binary: "aGVsbG8=" as any })),
      fail(await this.exportPush({ type: "binary", binary: new Uint8Array([1]), mime: "text/html; charset=utf-8" })),
      fail(await this.exportPush({ type: "binary", binary: new Uint8Array([1]), name: "" })),
      fail(await this.exportPush({ type: "binary_url", url: "file:///etc/passwd" })),
      fail(await this.exportPush({ type: "binary", binary: new Uint8Array(600 * 1024) })),
      fail(await this.exportPush({ type: "binary", binary: new Uint8Array(600 * 1024) })),
    ]);
  }
}
`;

describe("run keys, steps and binary exports", () => {
  let root: string;
  let dataDir: string;
  let t: TestHost;
  const startRun = (entry_id: string, args: object = {}, extra: object = {}) =>
    t.request("POST", "/runs", { plugin_id: "files", entry_id, args, ...extra });
  const getRun = async (id: string) => (await t.request("GET", `/runs/${id}`)).body;
  const untilDone = (id: string) =>
    waitFor(
      async () => {
        const run = await getRun(id);
        return ["succeeded", "failed", "canceled", "timeout"].includes(run.status) ? run : undefined;
      },
      { what: `run ${id} to end` },
    );
  /** This host's own folder for run files: `<dataDir>/runs/<host instance>/`. */
  const runsDir = () => t.host.runs.filesDir;
  /** Runs an entry with POST /runs (a finished trigger run is the first to be forgotten) and waits for its end. */
  const runToEnd = async (entry_id: string) => {
    const started = await startRun(entry_id);
    assert.equal(started.status, 202);
    const run = await untilDone(started.body.run_id);
    assert.equal(run.status, "succeeded", JSON.stringify(run.error));
    return { run_id: run.run_id as string, data: run.result, token: started.body.run_token as string };
  };

  before(async () => {
    root = makeTempDir();
    dataDir = makeTempDir();
    writePlugin(root, { id: "files", className: "Files", code });
    t = await startTestHost({ roots: [root], dataDir, runs: { keepFinished: 6, maxBinaryBytes: 1024 * 1024 } });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("task_id, trace_id and idempotency_key are kept on the run and shown by GET, the list and /ws/admin", async () => {
    const admin = await openWs(`${t.url.replace(/^http/, "ws")}/ws/admin`);
    try {
      const started = await startRun(
        "quick",
        { n: 1 },
        { task_id: "task-1", trace_id: "00-4bf92f3577b34da6-01", idempotency_key: "k:fields/1" },
      );
      assert.equal(started.status, 202);
      assert.equal(started.body.deduplicated, false);
      const run = await untilDone(started.body.run_id);
      assert.equal(run.task_id, "task-1");
      assert.equal(run.trace_id, "00-4bf92f3577b34da6-01");
      assert.equal(run.idempotency_key, "k:fields/1");
      const listed = (await t.request("GET", "/runs?plugin_id=files")).body.runs.find(
        (r: any) => r.run_id === started.body.run_id,
      );
      assert.equal(listed.task_id, "task-1");
      const live = await admin.next((m) => m.type === "run" && m.run.run_id === started.body.run_id);
      assert.equal(live.run.task_id, "task-1");
      assert.equal(live.run.trace_id, "00-4bf92f3577b34da6-01");
      assert.equal(live.run.idempotency_key, "k:fields/1");
      const plain = await untilDone((await startRun("quick", { n: 2 })).body.run_id);
      assert.deepEqual([plain.task_id, plain.trace_id, plain.idempotency_key], [null, null, null]);
    } finally {
      await admin.close();
    }
  });

  test("bad task_id / trace_id / idempotency_key: 400 naming the field, and no run is made", async () => {
    const before = (await t.request("GET", "/runs?limit=500")).body.runs.length;
    const cases: [object, string][] = [
      [{ task_id: "" }, "task_id"],
      [{ task_id: "x".repeat(129) }, "task_id"],
      [{ trace_id: "../etc passwd" }, "trace_id"],
      [{ trace_id: 42 }, "trace_id"],
      [{ idempotency_key: "<script>" }, "idempotency_key"],
      [{ idempotency_key: ["a"] }, "idempotency_key"],
    ];
    for (const [extra, field] of cases) {
      const res = await startRun("quick", { n: 1 }, extra);
      assert.equal(res.status, 400, JSON.stringify(extra));
      assert.equal(res.body.error.code, "VALIDATION_ERROR");
      assert.match(res.body.error.message, new RegExp(field), JSON.stringify(res.body));
    }
    const ok = await startRun("quick", { n: 1 }, { task_id: "x".repeat(128) });
    assert.equal(ok.status, 202);
    await untilDone(ok.body.run_id);
    assert.equal((await t.request("GET", "/runs?limit=500")).body.runs.length, Math.min(before + 1, 6));
  });

  test("a repeated idempotency_key answers 200 with the first run; other args are a 409; the scope is plugin + entry", async () => {
    const first = await startRun("slow", { ms: 300 }, { idempotency_key: "repeat-1", task_id: "t" });
    assert.equal(first.status, 202);
    const again = await startRun("slow", { ms: 300 }, { idempotency_key: "repeat-1", task_id: "t", trace_id: "new" });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, { ...first.body, deduplicated: true, status: again.body.status });
    const reordered = await startRun("slow", { ms: 300 }, { idempotency_key: "repeat-1", task_id: "t" });
    assert.equal(reordered.body.run_id, first.body.run_id);

    const otherArgs = await startRun("slow", { ms: 301 }, { idempotency_key: "repeat-1", task_id: "t" });
    assert.equal(otherArgs.status, 409);
    assert.equal(otherArgs.body.error.code, "IDEMPOTENCY_CONFLICT");
    assert.equal(otherArgs.body.error.details.run_id, first.body.run_id);
    assert.match(otherArgs.body.error.message, /repeat-1/);
    const otherTask = await startRun("slow", { ms: 300 }, { idempotency_key: "repeat-1", task_id: "u" });
    assert.equal(otherTask.status, 409);
    const otherTimeout = await startRun("slow", { ms: 300 }, { idempotency_key: "repeat-1", task_id: "t", timeout: 9 });
    assert.equal(otherTimeout.status, 409);

    const otherEntry = await startRun("quick", { n: 3 }, { idempotency_key: "repeat-1" });
    assert.equal(otherEntry.status, 202, "the same key for another entry is another request");
    assert.notEqual(otherEntry.body.run_id, first.body.run_id);

    const done = await untilDone(first.body.run_id);
    assert.equal(done.result, "slept");
    const afterEnd = await startRun("slow", { ms: 300 }, { idempotency_key: "repeat-1", task_id: "t" });
    assert.equal(afterEnd.status, 200, "a finished run still answers for its key while it is kept");
    assert.equal(afterEnd.body.status, "succeeded");
    const kept = (await t.request("GET", "/runs?limit=500")).body.runs.filter(
      (r: any) => r.idempotency_key === "repeat-1" && r.entry_id === "slow",
    );
    assert.equal(kept.length, 1, "one run was started for the key");
  });

  test("twenty POSTs at once with one idempotency_key start exactly one run", async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => startRun("slow", { ms: 200 }, { idempotency_key: "at-once" })),
    );
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [200, ...Array(18).fill(200), 202].sort());
    assert.equal(answers.filter((a) => a.status === 202).length, 1);
    assert.equal(new Set(answers.map((a) => a.body.run_id)).size, 1);
    assert.equal(answers.filter((a) => a.body.deduplicated === true).length, 19);
    await untilDone(answers[0].body.run_id);
    const runs = (await t.request("GET", "/runs?limit=500")).body.runs.filter(
      (r: any) => r.idempotency_key === "at-once",
    );
    assert.equal(runs.length, 1);
  });

  test("a key is forgotten with its run: once the run is no longer kept, the key starts a new run", async () => {
    const first = await startRun("quick", { n: 1 }, { idempotency_key: "short-lived" });
    await untilDone(first.body.run_id);
    for (let n = 0; n < 6; n++) await untilDone((await startRun("quick", { n })).body.run_id);
    assert.equal((await t.request("GET", `/runs/${first.body.run_id}`)).status, 404);
    const again = await startRun("quick", { n: 1 }, { idempotency_key: "short-lived" });
    assert.equal(again.status, 202);
    assert.notEqual(again.body.run_id, first.body.run_id);
  });

  test("runUpdate({ step, stepTotal, eta }) shows on the run while it goes; a succeeded run's progress is 100", async () => {
    const { body } = await startRun("steps", { holdMs: 400 });
    const midway = await waitFor(async () => {
      const run = await getRun(body.run_id);
      return run.step === 2 ? run : undefined;
    });
    assert.equal(midway.status, "running");
    assert.equal(midway.step_total, 5);
    assert.equal(midway.eta_seconds, 3.5);
    assert.equal(midway.stage, "counting");
    assert.equal(midway.progress, null, "no progress was reported yet");
    const done = await untilDone(body.run_id);
    assert.equal(done.status, "succeeded");
    assert.deepEqual([done.step, done.step_total, done.eta_seconds], [5, 5, 3.5]);
    assert.equal(done.progress, 100, "a succeeded run's progress is 100 even if the entry never said so");
    const quick = await untilDone((await startRun("quick", { n: 1 })).body.run_id);
    assert.equal(quick.progress, 100);
    const failed = await untilDone((await startRun("ghost")).body.run_id);
    assert.equal(failed.status, "failed");
    assert.equal(failed.progress, null, "only a succeeded run is put at 100");
  });

  test("bad steps and etas: a clear Err naming the field, and the run keeps its last good values", async () => {
    const res = await runToEnd("bad_steps");
    const out = res.data;
    assert.deepEqual(
      out.map((r: any) => (r === "ok" ? r : [r.code, r.field])),
      [
        ["VALIDATION_ERROR", "step"],
        ["VALIDATION_ERROR", "step"],
        ["VALIDATION_ERROR", "stepTotal"],
        ["VALIDATION_ERROR", "eta"],
        ["VALIDATION_ERROR", "eta"],
        ["VALIDATION_ERROR", "step"],
        "ok",
        ["VALIDATION_ERROR", "step"],
        "ok",
      ],
    );
    assert.match(out[0].message, /'step' must be a whole number, 0 or more, got -1/);
    assert.match(out[7].message, /'step' \(4\) must not be greater than 'stepTotal' \(3\)/);
    const run = await getRun(res.run_id);
    assert.deepEqual([run.step, run.step_total, run.eta_seconds], [3, 3, null]);
  });

  test("binary exports: stored under <dataDir>/runs/<host>/<run_id>/, listed with their metadata, downloaded as attachments", async () => {
    const res = await runToEnd("binaries");
    assert.deepEqual(res.data, [1, 2, 3, 4]);
    const id = res.run_id;
    const page = (await t.request("GET", `/runs/${id}/export`)).body;
    const strip = ({ time, ...rest }: any) => {
      assert.ok(!Number.isNaN(Date.parse(time)));
      return rest;
    };
    assert.deepEqual(page.items.map(strip), [
      {
        seq: 1,
        type: "binary",
        mime: "image/png",
        name: "chart.png",
        label: "chart",
        size: 11,
        content_url: `/runs/${id}/export/1/content`,
      },
      {
        seq: 2,
        type: "binary",
        mime: "text/html",
        name: "../../evil.html",
        size: 39,
        content_url: `/runs/${id}/export/2/content`,
      },
      { seq: 3, type: "binary_url", url: "https://example.com/big.zip", mime: "application/zip", name: "big.zip" },
      { seq: 4, type: "binary", size: 1, content_url: `/runs/${id}/export/4/content` },
    ]);

    const png = await fetch(`${t.url}/runs/${id}/export/1/content`);
    assert.equal(png.status, 200);
    assert.equal(png.headers.get("content-type"), "image/png");
    assert.equal(
      png.headers.get("content-disposition"),
      `attachment; filename="chart.png"; filename*=UTF-8''chart.png`,
    );
    assert.equal(png.headers.get("x-content-type-options"), "nosniff");
    assert.deepEqual(
      [...new Uint8Array(await png.arrayBuffer())],
      [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3],
    );
    const plain = await fetch(`${t.url}/runs/${id}/export/4/content`);
    assert.equal(plain.headers.get("content-type"), "application/octet-stream");
    assert.match(plain.headers.get("content-disposition") ?? "", /^attachment; filename="export-4\.bin"/);

    // Only this run's folder holds files, named by the host: the plugin's name never reaches the disk.
    const files = fs.readdirSync(path.join(runsDir(), id));
    assert.equal(files.length, 3);
    assert.ok(
      files.every((f) => /^[0-9a-f-]{36}\.bin$/.test(f)),
      files.join(),
    );
    assert.ok(fs.readdirSync(runsDir()).includes(id));
    assert.ok(!fs.existsSync(path.join(dataDir, "evil.html")));
  });

  test("attacker: an export with mime text/html is never served as HTML, nor inline, and its name cannot climb", async () => {
    const res = await runToEnd("binaries");
    const evil = await fetch(`${t.url}/runs/${res.run_id}/export/2/content`);
    assert.equal(evil.status, 200);
    assert.equal(evil.headers.get("content-type"), "application/octet-stream");
    const disposition = evil.headers.get("content-disposition") ?? "";
    assert.ok(disposition.startsWith("attachment;"), disposition);
    assert.ok(!disposition.includes("/"), disposition);
    assert.equal(disposition, `attachment; filename="__.._evil.html"; filename*=UTF-8''__.._evil.html`);
    assert.equal(evil.headers.get("x-content-type-options"), "nosniff");
    assert.match(evil.headers.get("content-security-policy") ?? "", /sandbox/);
    assert.equal(await evil.text(), "<script>alert(document.cookie)</script>");
    for (const bad of ["3", "9", "0", "-1", "x", "1/../../2"]) {
      const r = await fetch(`${t.url}/runs/${res.run_id}/export/${bad}/content`);
      assert.ok([400, 404].includes(r.status), `${bad}: ${r.status}`);
      assert.notEqual(r.headers.get("content-type"), "text/html");
    }
    assert.equal((await fetch(`${t.url}/runs/no-such-run/export/1/content`)).status, 404);
    assert.equal((await fetch(`${t.url}/runs/..%2F..%2Fetc/export/1/content`)).status, 404);
  });

  test("bad and over-limit binary exports: a clear Err, nothing half-written", async () => {
    const res = await runToEnd("bad_binaries");
    const out = res.data;
    assert.deepEqual(
      out.map((r: any) => (r === "ok" ? r : [r.code, r.field])),
      [
        ["VALIDATION_ERROR", "binary"],
        ["VALIDATION_ERROR", "binary"],
        ["VALIDATION_ERROR", "binary"],
        ["VALIDATION_ERROR", "mime"],
        ["VALIDATION_ERROR", "name"],
        ["VALIDATION_ERROR", "url"],
        "ok",
        ["RUN_EXPORT_LIMIT", null],
      ],
    );
    assert.match(out[0].message, /'binary' is 16777217 bytes; the limit is 16777216 \(16 MiB\) per item/);
    assert.match(
      out[7].message,
      /would pass the 1048576 bytes of uploads and binary exports a run may hold \(it holds 614400\)/,
    );
    const files = fs.readdirSync(path.join(runsDir(), res.run_id));
    assert.equal(files.length, 1, files.join());
    assert.equal(fs.statSync(path.join(runsDir(), res.run_id, files[0])).size, 600 * 1024);
    assert.equal((await getRun(res.run_id)).exports, 1);
  });

  test("a run's files are deleted when the run is no longer kept", async () => {
    const res = await runToEnd("binaries");
    const dir = path.join(runsDir(), res.run_id);
    assert.ok(fs.existsSync(dir));
    for (let n = 0; n < 6; n++) await untilDone((await startRun("quick", { n })).body.run_id);
    assert.equal((await t.request("GET", `/runs/${res.run_id}`)).status, 404);
    assert.ok(!fs.existsSync(dir), "its folder went with it");
    assert.equal((await fetch(`${t.url}/runs/${res.run_id}/export/1/content`)).status, 404);
  });

  const upload = (runId: string, body: Uint8Array | string, query = "", headers: Record<string, string> = {}) =>
    fetch(`${t.url}/runs/${runId}/uploads${query}`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream", ...headers },
      body: typeof body === "string" ? body : new Uint8Array(body),
    });

  test("uploads: a client uploads files to a running run; its plugin lists and reads them; the names are made safe", async () => {
    const { body } = await startRun("receive", { count: 2 });
    await waitFor(async () => (await getRun(body.run_id)).stage === "waiting", { what: "the entry to wait" });
    const first = await upload(
      body.run_id,
      new Uint8Array([1, 2, 3, 4, 5]),
      "?name=..%2F..%2Fetc%2Fpasswd&mime=image/png",
    );
    assert.equal(first.status, 201);
    const stored = (await first.json()) as any;
    assert.match(stored.upload_id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      { ...stored, upload_id: "-", time: "-" },
      {
        upload_id: "-",
        name: "__.._etc_passwd",
        mime: "image/png",
        size: 5,
        time: "-",
        content_url: `/runs/${body.run_id}/uploads/${stored.upload_id}`,
      },
    );
    const second = await upload(body.run_id, "<script>alert(1)</script>", "?name=page.html&mime=text/html");
    assert.equal(second.status, 201);
    const secondId = ((await second.json()) as any).upload_id;
    const done = await untilDone(body.run_id);
    assert.equal(done.status, "succeeded", JSON.stringify(done.error));
    assert.deepEqual(done.result.out, [
      { name: "__.._etc_passwd", mime: "image/png", size: 5, length: 5, head: [1, 2, 3, 4] },
      { name: "page.html", mime: "text/html", size: 25, length: 25, head: [60, 115, 99, 114] },
    ]);
    assert.equal(done.result.missing.code, "NOT_FOUND");

    const listed = (await t.request("GET", `/runs/${body.run_id}/uploads`)).body;
    assert.deepEqual(
      listed.uploads.map((u: any) => [u.name, u.size]),
      [
        ["__.._etc_passwd", 5],
        ["page.html", 25],
      ],
    );
    // Stored under the run's folder with names the host made; nothing climbed out of it.
    const files = fs.readdirSync(path.join(runsDir(), body.run_id));
    assert.equal(files.length, 2);
    assert.ok(
      files.every((f) => /^[0-9a-f-]{36}\.bin$/.test(f)),
      files.join(),
    );
    assert.ok(!fs.existsSync(path.join(dataDir, "etc")));
    assert.ok(!fs.existsSync(path.join(runsDir(), "etc")));

    const html = await fetch(`${t.url}/runs/${body.run_id}/uploads/${secondId}`);
    assert.equal(html.status, 200);
    assert.equal(html.headers.get("content-type"), "application/octet-stream", "never served as HTML");
    assert.equal(
      html.headers.get("content-disposition"),
      `attachment; filename="page.html"; filename*=UTF-8''page.html`,
    );
    assert.equal(html.headers.get("x-content-type-options"), "nosniff");
    assert.equal(await html.text(), "<script>alert(1)</script>");
    assert.equal((await fetch(`${t.url}/runs/${body.run_id}/uploads/nope`)).status, 404);
  });

  test("bad uploads: clear 4xx naming the problem, nothing stored", async () => {
    const { body } = await startRun("receive", { count: 1 });
    await waitFor(async () => (await getRun(body.run_id)).stage === "waiting", { what: "the entry to wait" });
    const refuse = async (res: Response, status: number, code: string) => {
      assert.equal(res.status, status);
      const answer = (await res.json()) as any;
      assert.equal(answer.error.code, code, JSON.stringify(answer));
      return answer.error;
    };
    assert.equal(
      (await refuse(await upload(body.run_id, new Uint8Array(0)), 400, "VALIDATION_ERROR")).details.field,
      "body",
    );
    assert.equal(
      (await refuse(await upload(body.run_id, "x", "?mime=text/html;charset=utf-8"), 400, "VALIDATION_ERROR")).details
        .field,
      "mime",
    );
    assert.equal(
      (await refuse(await upload(body.run_id, "x", `?name=${"n".repeat(256)}`), 400, "VALIDATION_ERROR")).details.field,
      "name",
    );
    await refuse(await upload(body.run_id, "x", "", { "content-type": "text/plain" }), 415, "UNSUPPORTED_MEDIA_TYPE");
    await refuse(
      await upload(body.run_id, "{}", "", { "content-type": "application/json" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    const huge = await refuse(
      await upload(body.run_id, new Uint8Array(16 * 1024 * 1024 + 1)),
      413,
      "PAYLOAD_TOO_LARGE",
    );
    assert.equal(huge.details.limit, 16 * 1024 * 1024);
    await refuse(await upload("no-such-run", "x"), 404, "NOT_FOUND");
    assert.ok(!fs.existsSync(path.join(runsDir(), body.run_id)), "nothing was stored");

    // The run's budget (1 MiB in this suite) covers uploads and binary exports together.
    assert.equal((await upload(body.run_id, new Uint8Array(600 * 1024))).status, 201);
    const over = await refuse(await upload(body.run_id, new Uint8Array(600 * 1024)), 413, "PAYLOAD_TOO_LARGE");
    assert.deepEqual(over.details, { limit: 1024 * 1024, held: 600 * 1024, size: 600 * 1024 });
    await untilDone(body.run_id);
    assert.equal(fs.readdirSync(path.join(runsDir(), body.run_id)).length, 1);
    await refuse(await upload(body.run_id, "late"), 409, "RUN_FINISHED");

    // Gone with the run.
    for (let n = 0; n < 6; n++) await untilDone((await startRun("quick", { n })).body.run_id);
    assert.ok(!fs.existsSync(path.join(runsDir(), body.run_id)));
    assert.equal((await t.request("GET", `/runs/${body.run_id}/uploads`)).status, 404);
  });

  test("attacker: a second host on the same data folder (serve, dev and mcp share .neko) leaves the first's run files alone", async () => {
    const res = await runToEnd("binaries");
    const download = async () => {
      const got = await fetch(`${t.url}/runs/${res.run_id}/export/1/content`);
      return [got.status, [...new Uint8Array(await got.arrayBuffer())]];
    };
    const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3];
    const emptyRoot = makeTempDir();
    const second = await startTestHost({ roots: [emptyRoot], dataDir });
    try {
      assert.notEqual(second.host.runs.filesDir, runsDir());
      assert.deepEqual(await download(), [200, png], "after the second host started");
    } finally {
      await second.close();
      fs.rmSync(emptyRoot, { recursive: true, force: true });
    }
    assert.ok(!fs.existsSync(second.host.runs.filesDir), "the second host deleted its own folder");
    assert.deepEqual(await download(), [200, png], "after the second host stopped");
  });

  /** An upload sent by hand: headers at once, the body only as the test writes it. */
  const rawUpload = (runId: string, declared: number | undefined, query = "") => {
    const url = new URL(`${t.url}/runs/${runId}/uploads${query}`);
    const headers: Record<string, string | number> = { "content-type": "application/octet-stream" };
    if (declared !== undefined) headers["content-length"] = declared;
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      method: "POST",
      headers,
    });
    const response = new Promise<{ status: number; body: any }>((resolve, reject) => {
      req.on("response", (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
      });
      req.on("error", reject);
    });
    response.catch(() => undefined);
    req.flushHeaders();
    const answered = (ms = 3000) =>
      Promise.race([
        response,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref()),
      ]);
    return { req, response, answered };
  };
  const partFiles = (runId: string) => {
    const dir = path.join(runsDir(), runId);
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".part")) : [];
  };

  test("attacker: an upload is refused before its body is read — unknown run 404, finished run 409, too large 413", async () => {
    const finished = await runToEnd("quick");
    const { body } = await startRun("slow", { ms: 4000 });
    const cases: [string, number, number, string][] = [
      ["no-such-run", 10 * 1024 * 1024, 404, "NOT_FOUND"],
      [finished.run_id, 10 * 1024 * 1024, 409, "RUN_FINISHED"],
      [body.run_id, 16 * 1024 * 1024 + 1, 413, "PAYLOAD_TOO_LARGE"],
      [body.run_id, 2 * 1024 * 1024, 413, "PAYLOAD_TOO_LARGE"], // over the run's 1 MiB in this suite
    ];
    for (const [runId, declared, status, code] of cases) {
      const up = rawUpload(runId, declared);
      up.req.write(new Uint8Array(1024)); // a sliver of the body; the rest never comes
      const answer = await up.answered();
      up.req.destroy();
      assert.equal(answer.status, status, `${runId} ${declared}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.error.code, code);
    }
    const up = rawUpload(body.run_id, 2 * 1024 * 1024);
    const answer = await up.answered();
    up.req.destroy();
    assert.deepEqual(answer.body.error.details, { limit: 1024 * 1024, held: 0, size: 2 * 1024 * 1024 });
    assert.ok(!fs.existsSync(path.join(runsDir(), body.run_id)), "nothing was written");
  });

  test("uploads are written to disk as they arrive, never held whole in memory", async () => {
    const { body } = await startRun("receive", { count: 1 });
    await waitFor(async () => (await getRun(body.run_id)).stage === "waiting", { what: "the entry to wait" });
    const up = rawUpload(body.run_id, 900 * 1024, "?name=big.bin");
    up.req.write(new Uint8Array(300 * 1024).fill(5));
    const part = await waitFor(
      () => {
        const [name] = partFiles(body.run_id);
        const size = name ? fs.statSync(path.join(runsDir(), body.run_id, name)).size : 0;
        return size >= 300 * 1024 ? size : undefined;
      },
      { what: "the first 300 KiB on disk before the rest is sent" },
    );
    assert.equal(part, 300 * 1024);
    up.req.end(new Uint8Array(600 * 1024).fill(6));
    const answer = await up.answered();
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    assert.equal(answer.body.size, 900 * 1024);
    const run = await untilDone(body.run_id);
    assert.deepEqual(run.result.out[0], {
      name: "big.bin",
      mime: "application/octet-stream",
      size: 921600,
      length: 921600,
      head: [5, 5, 5, 5],
    });
    assert.deepEqual(partFiles(body.run_id), [], "no temporary file stays");
  });

  test("attacker: uploads arriving at once are capped — 2 per run, 4 in all — with 429 BUSY naming the limit", async () => {
    const runs = await Promise.all([0, 1, 2].map(async () => (await startRun("slow", { ms: 4000 })).body.run_id));
    const open: ReturnType<typeof rawUpload>[] = [];
    const hold = async (runId: string) => {
      const up = rawUpload(runId, 10);
      up.req.write(new Uint8Array([1]));
      open.push(up);
      const before = partFiles(runId).length;
      await waitFor(() => partFiles(runId).length > before || undefined, { what: "the upload to be arriving" });
    };
    try {
      await hold(runs[0]);
      await hold(runs[0]);
      const third = rawUpload(runs[0], 10);
      const perRun = await third.answered();
      third.req.destroy();
      assert.equal(perRun.status, 429, JSON.stringify(perRun.body));
      assert.equal(perRun.body.error.code, "BUSY");
      assert.deepEqual(perRun.body.error.details, { limit: 2 });
      assert.match(perRun.body.error.message, /already has 2 uploads arriving/);
      await hold(runs[1]);
      await hold(runs[1]);
      const fifth = rawUpload(runs[2], 10);
      const global = await fifth.answered();
      fifth.req.destroy();
      assert.equal(global.status, 429);
      assert.deepEqual([global.body.error.code, global.body.error.details], ["BUSY", { limit: 4 }]);
      for (const up of open) up.req.end(new Uint8Array(9));
      assert.deepEqual(
        (await Promise.all(open.map((up) => up.answered()))).map((a) => [a.status, a.body.size]),
        Array(4).fill([201, 10]),
      );
      const after = rawUpload(runs[2], 1);
      after.req.end(new Uint8Array([1]));
      assert.equal((await after.answered()).status, 201, "the slots are free again");
    } finally {
      for (const up of open) up.req.destroy();
      for (const id of runs) await t.request("POST", `/runs/${id}/cancel`);
    }
  });

  test("upload names: invalid percent-encoding is a 400; format characters are dropped from the name and the download", async () => {
    const { body } = await startRun("slow", { ms: 3000 });
    for (const query of ["?name=%ZZ.txt", "?name=a%E0%A4.txt", "?mime=%G1"]) {
      const res = await upload(body.run_id, "x", query);
      const answer = (await res.json()) as any;
      assert.equal(res.status, 400, query);
      assert.equal(answer.error.code, "VALIDATION_ERROR");
      assert.equal(answer.error.details.field, query.startsWith("?name") ? "name" : "mime");
    }
    const res = await upload(body.run_id, "x", `?name=${encodeURIComponent("invoice\u202Efdp.exe. ")}`);
    const stored = (await res.json()) as any;
    assert.equal(stored.name, "invoicefdp.exe");
    const got = await fetch(`${t.url}${stored.content_url}`);
    assert.equal(
      got.headers.get("content-disposition"),
      `attachment; filename="invoicefdp.exe"; filename*=UTF-8''invoicefdp.exe`,
    );
    await got.arrayBuffer();
    await t.request("POST", `/runs/${body.run_id}/cancel`);
  });

  test("attacker: forty readRunUpload calls at once in a plugin all succeed, read in bounded chunks", async () => {
    const { body } = await startRun("read_many");
    await waitFor(async () => (await getRun(body.run_id)).stage === "waiting", { what: "the entry to wait" });
    const bytes = new Uint8Array(700 * 1024).map((_, i) => i % 7);
    assert.equal((await upload(body.run_id, bytes)).status, 201);
    const run = await untilDone(body.run_id);
    assert.equal(run.status, "succeeded", JSON.stringify(run.error));
    assert.deepEqual(run.result, Array(40).fill(`${700 * 1024}:${1000 % 7}`));
  });

  test("with an API token, a run's own token downloads its binary exports; another run's does not", async () => {
    const server = await createPluginServer({ host: t.host, apiToken: "admin-secret" });
    await server.listen({ port: 0, host: "127.0.0.1" });
    try {
      const post = (body: object) =>
        fetch(`${server.listeningOrigin}/runs`, {
          method: "POST",
          headers: { authorization: "Bearer admin-secret", "content-type": "application/json" },
          body: JSON.stringify(body),
        }).then((r) => r.json() as Promise<{ run_id: string; run_token: string }>);
      const mine = await post({ plugin_id: "files", entry_id: "binaries" });
      const other = await post({ plugin_id: "files", entry_id: "quick", args: { n: 1 } });
      await untilDone(mine.run_id);
      const get = (token?: string) =>
        fetch(`${server.listeningOrigin}/runs/${mine.run_id}/export/1/content`, {
          headers: token ? { authorization: `Bearer ${token}` } : {},
        });
      assert.equal((await get()).status, 401);
      assert.equal((await get(other.run_token)).status, 401);
      const ok = await get(mine.run_token);
      assert.equal(ok.status, 200);
      assert.equal((await ok.arrayBuffer()).byteLength, 11);
      const waiting = await post({ plugin_id: "files", entry_id: "receive", args: { count: 1 } });
      const put = (token: string) =>
        fetch(`${server.listeningOrigin}/runs/${waiting.run_id}/uploads?name=a.txt`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
          body: "hello",
        });
      assert.equal((await put(other.run_token)).status, 401, "another run's token cannot upload");
      assert.equal((await put(waiting.run_token)).status, 201, "the run's own token can");
      assert.equal((await untilDone(waiting.run_id)).result.out[0].name, "a.txt");
    } finally {
      await server.close();
    }
  });
});

describe("runs.maxTotalFileBytes", () => {
  let root: string;
  let dataDir: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    dataDir = makeTempDir();
    writePlugin(root, { id: "files", className: "Files", code });
    // The `binaries` entry stores 51 bytes: a second run of it does not fit beside the first.
    t = await startTestHost({ roots: [root], dataDir, runs: { maxTotalFileBytes: 60 } });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("past the host's cap the oldest finished run's files are deleted; its downloads say why, its listing stays", async () => {
    const runToEnd = async () => {
      const started = await t.request("POST", "/runs", { plugin_id: "files", entry_id: "binaries" });
      const run = await waitFor(
        async () => {
          const got = (await t.request("GET", `/runs/${started.body.run_id}`)).body;
          return got.status === "running" ? undefined : got;
        },
        { what: "the run to end" },
      );
      assert.equal(run.status, "succeeded", JSON.stringify(run.error));
      return run.run_id as string;
    };
    const first = await runToEnd();
    assert.equal((await fetch(`${t.url}/runs/${first}/export/1/content`)).status, 200);
    const second = await runToEnd();
    const gone = await fetch(`${t.url}/runs/${first}/export/1/content`);
    assert.equal(gone.status, 404);
    const answer = (await gone.json()) as any;
    assert.equal(answer.error.code, "NOT_FOUND");
    assert.deepEqual(answer.error.details, { reason: "files_deleted", limit: "runs.maxTotalFileBytes" });
    assert.match(
      answer.error.message,
      /deleted to keep the host's run files under runs.maxTotalFileBytes \(60 bytes\)/,
    );
    assert.ok(!fs.existsSync(path.join(t.host.runs.filesDir, first)), "its folder is gone");
    assert.equal((await t.request("GET", `/runs/${first}/export`)).body.total, 4, "its listing stays");
    const kept = await fetch(`${t.url}/runs/${second}/export/1/content`);
    assert.equal(kept.status, 200);
    assert.equal((await kept.arrayBuffer()).byteLength, 11);
  });
});
