/**
 * Runs through a real plugin process and the real HTTP server: progress and exports while a run goes, cancel
 * reaching the handler's signal, timeouts, `finish`, failures, the run token, and how many finished runs are kept.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { createPluginServer } from "@neko/server";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, lifecycle, Ok, unwrap } from "@neko/plugin-sdk/plugin";

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });

@nekoPlugin
export class Worker extends NekoPluginBase {
  sawAbort = false;
  abortCode: string | null = null;
  outside: unknown = null;
  afterFinish: string | null = null;

  @lifecycle({ id: "startup" })
  async onStartup() {
    const r = await this.runUpdate({ progress: 1 });
    this.outside = r.ok ? "ok" : { code: r.error.code, message: r.error.message };
  }

  @pluginEntry({ id: "long" })
  async long({ steps, stepMs }: { steps: number; stepMs: number }, ctx: { signal: AbortSignal }) {
    for (let i = 1; i <= steps; i++) {
      await sleep(stepMs, ctx.signal);
      unwrap(await this.runUpdate({ progress: (i / steps) * 100, stage: "step " + i, message: i + " of " + steps }));
      unwrap(await this.exportPush({ type: "json", json: { step: i }, label: "step" }));
    }
    await this.exportPush({ type: "url", url: "https://example.com/report" });
    return Ok({ done: steps });
  }

  @pluginEntry({ id: "wait_for_cancel" })
  async waitForCancel(_args: object, ctx: { signal: AbortSignal }) {
    this.sawAbort = false;
    await this.runUpdate({ stage: "waiting" });
    // A cancel may be here already: it can arrive with the answer to runUpdate, before this line runs.
    await new Promise<void>((resolve) => {
      const saw = () => {
        this.sawAbort = true;
        this.abortCode = (ctx.signal.reason as { code?: string })?.code ?? null;
        resolve();
      };
      if (ctx.signal.aborted) saw();
      else ctx.signal.addEventListener("abort", saw, { once: true });
    });
    return Ok("too late");
  }

  @pluginEntry({ id: "busy" })
  async busy({ ms }: { ms: number }) {
    await this.runUpdate({ stage: "busy" });
    const end = Date.now() + ms;
    while (Date.now() < end) {}
    return Ok("finished anyway");
  }

  @pluginEntry({ id: "aborted" })
  aborted() {
    return Ok({ sawAbort: this.sawAbort, abortCode: this.abortCode });
  }

  @pluginEntry({ id: "finish_early" })
  async finishEarly() {
    unwrap(await this.finish({ data: { early: true }, reply: "tell the user it is done" }));
    const after = await this.runUpdate({ progress: 100 });
    this.afterFinish = after.ok ? "ok" : after.error.code;
    return Ok({ late: true });
  }

  @pluginEntry({ id: "after_finish" })
  afterFinishEntry() {
    return Ok(this.afterFinish);
  }

  @pluginEntry({ id: "bad_reports" })
  async badReports() {
    const results = [
      await this.runUpdate({ progress: 150 }),
      await this.runUpdate({}),
      await this.exportPush({ type: "url", url: "not a url" } as any),
      await this.exportPush({ type: "text" } as any),
      await this.exportPush({ type: "csv", text: "a,b" } as any),
    ];
    return Ok(results.map((r) => (r.ok ? "ok" : (r.error.details as { field: string }).field)));
  }

  @pluginEntry({ id: "outside" })
  outsideEntry() {
    return Ok(this.outside);
  }

  @pluginEntry({ id: "boom" })
  boom() {
    throw new Error("kaboom");
  }

  @pluginEntry({ id: "quick" })
  quick({ n }: { n: number }) {
    return Ok(n);
  }
}
`;

describe("runs", () => {
  let root: string;
  let t: TestHost;
  const startRun = (entry_id: string, args: object = {}, extra: object = {}) =>
    t.request("POST", "/runs", { plugin_id: "worker", entry_id, args, ...extra });
  const getRun = async (id: string) => (await t.request("GET", `/runs/${id}`)).body;
  const untilStatus = (id: string, statuses: string[]) =>
    waitFor(
      async () => {
        const run = await getRun(id);
        return statuses.includes(run.status) ? run : undefined;
      },
      { what: `run ${id} to be ${statuses.join(" or ")}` },
    );

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "worker", className: "Worker", code });
    t = await startTestHost({ roots: [root], runs: { keepFinished: 8, cancelGraceMs: 300 } });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("POST /runs answers at once; progress, stage, message and exports show while it runs; the result at the end", async () => {
    const started = await startRun("long", { steps: 3, stepMs: 300 });
    assert.equal(started.status, 202);
    assert.equal(started.body.status, "running");
    assert.match(started.body.run_id, /^[0-9a-f-]{36}$/);
    assert.equal(typeof started.body.run_token, "string");
    assert.ok(started.body.run_token.length >= 32);
    const id = started.body.run_id;
    const midway = await waitFor(async () => {
      const run = await getRun(id);
      return run.exports >= 1 && run.status === "running" ? run : undefined;
    });
    assert.ok(midway.progress > 0 && midway.progress < 100, `progress ${midway.progress} while running`);
    assert.match(midway.stage, /^step \d$/);
    const done = await untilStatus(id, ["succeeded"]);
    assert.equal(done.kind, "run");
    assert.equal(done.plugin_id, "worker");
    assert.equal(done.entry_id, "long");
    assert.equal(done.progress, 100);
    assert.equal(done.stage, "step 3");
    assert.equal(done.message, "3 of 3");
    assert.deepEqual(done.result, { done: 3 });
    assert.equal(done.error, null);
    assert.equal(done.exports, 4);
    assert.ok(Date.parse(done.finished_at) >= Date.parse(done.started_at));
    assert.ok(Date.parse(done.started_at) >= Date.parse(done.created_at));

    const page1 = (await t.request("GET", `/runs/${id}/export?limit=2`)).body;
    assert.deepEqual(
      page1.items.map((i: any) => [i.seq, i.type, i.json, i.label]),
      [
        [1, "json", { step: 1 }, "step"],
        [2, "json", { step: 2 }, "step"],
      ],
    );
    assert.equal(page1.next_cursor, 2);
    assert.equal(page1.has_more, true);
    assert.equal(page1.total, 4);
    const page2 = (await t.request("GET", `/runs/${id}/export?after=${page1.next_cursor}&limit=2`)).body;
    assert.deepEqual(
      page2.items.map((i: any) => i.seq),
      [3, 4],
    );
    assert.equal(page2.items[1].url, "https://example.com/report");
    assert.equal(page2.has_more, false);
    const listed = (await t.request("GET", "/runs?plugin_id=worker&status=succeeded")).body.runs;
    assert.ok(listed.some((r: any) => r.run_id === id));
  });

  test("a run canceled mid-way ends canceled and its handler saw the abort", async () => {
    const { body } = await startRun("wait_for_cancel");
    await waitFor(async () => (await getRun(body.run_id)).stage === "waiting", { what: "the handler to start" });
    const cancel = await t.request("POST", `/runs/${body.run_id}/cancel`);
    assert.equal(cancel.status, 200);
    assert.ok(["cancel_requested", "canceled"].includes(cancel.body.status), cancel.body.status);
    const run = await untilStatus(body.run_id, ["canceled"]);
    assert.equal(run.error.code, "CANCELED");
    assert.equal(run.result, null, "the entry's late return value is not the result");
    const seen = await t.trigger("worker", "aborted");
    assert.deepEqual(seen.body.data, { sawAbort: true, abortCode: "CANCELED" }, "the plugin's signal was aborted");
    const again = await t.request("POST", `/runs/${body.run_id}/cancel`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, "RUN_FINISHED");
    assert.equal((await t.request("POST", "/runs/no-such-run/cancel")).status, 404);
  });

  test("a plugin too busy to confirm a cancel: the run still ends canceled after the grace period", async () => {
    const { body } = await startRun("busy", { ms: 1500 });
    await waitFor(async () => (await getRun(body.run_id)).stage === "busy", { what: "the handler to start" });
    assert.equal((await t.request("POST", `/runs/${body.run_id}/cancel`)).body.status, "cancel_requested");
    const run = await untilStatus(body.run_id, ["canceled", "succeeded"]);
    assert.equal(run.status, "canceled");
    assert.match(run.error.message, /did not confirm the cancel within 0.3s/);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await getRun(body.run_id)).status, "canceled", "its late answer changed nothing");
  });

  test("a run past its timeout ends `timeout`", async () => {
    const { body } = await startRun("wait_for_cancel", {}, { timeout: 0.3 });
    const run = await untilStatus(body.run_id, ["timeout", "failed", "succeeded"]);
    assert.equal(run.status, "timeout");
    assert.equal(run.error.code, "TIMEOUT");
    assert.equal((await t.trigger("worker", "aborted")).body.data.sawAbort, true);
  });

  test("finish() ends the run early with its data and reply; later reports are refused", async () => {
    const res = await t.trigger("worker", "finish_early");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.data, { early: true }, "a trigger answers with the finished run's data");
    const run = await getRun(res.body.run_id);
    assert.equal(run.kind, "trigger");
    assert.equal(run.status, "succeeded");
    assert.deepEqual(run.result, { early: true });
    assert.equal(run.reply, "tell the user it is done");
    const refused = await waitFor(async () => (await t.trigger("worker", "after_finish")).body.data);
    assert.equal(refused, "RUN_FINISHED", "runUpdate after finish() is refused");
  });

  test("reports outside a run, and bad reports, get a clear Err naming the problem", async () => {
    const outside = (await t.trigger("worker", "outside")).body.data;
    assert.equal(outside.code, "NOT_IN_RUN");
    assert.match(outside.message, /runUpdate: not inside a run/);
    const badFields = (await t.trigger("worker", "bad_reports")).body.data;
    assert.deepEqual(badFields, ["progress", "progress", "url", "text", "type"]);
  });

  test("failures: an entry that throws fails its run; bad requests are refused before a run is made", async () => {
    const boom = await t.trigger("worker", "boom");
    assert.equal(boom.status, 500);
    const failed = await getRun(boom.body.run_id);
    assert.equal(failed.status, "failed");
    assert.equal(failed.error.code, "ENTRY_FAILED");
    assert.equal(failed.error.message, "kaboom");
    const noEntry = await startRun("ghost");
    assert.equal(noEntry.status, 202);
    assert.equal((await untilStatus(noEntry.body.run_id, ["failed"])).error.code, "ENTRY_NOT_FOUND");
    const noPlugin = await t.request("POST", "/runs", { plugin_id: "ghost", entry_id: "x" });
    assert.equal(noPlugin.status, 404);
    assert.equal(noPlugin.body.error.code, "PLUGIN_NOT_FOUND");
    const badBody = await t.request("POST", "/runs", { plugin_id: "worker" });
    assert.equal(badBody.status, 400);
    assert.match(badBody.body.error.message, /entry_id/);
    assert.equal((await t.request("GET", "/runs/nope")).status, 404);
    assert.equal((await t.request("GET", "/runs?status=done")).body.error.details.field, "status");
  });

  test("with an API token, a run's own token opens that run's routes and nothing else", async () => {
    const server = await createPluginServer({ host: t.host, apiToken: "admin-secret" });
    await server.listen({ port: 0, host: "127.0.0.1" });
    try {
      const call = (method: string, route: string, token?: string, body?: object) =>
        fetch(server.listeningOrigin + route, {
          method,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(method === "POST" ? { "content-type": "application/json" } : {}),
          },
          body: body ? JSON.stringify(body) : undefined,
        });
      const started = await call("POST", "/runs", "admin-secret", { plugin_id: "worker", entry_id: "wait_for_cancel" });
      assert.equal(started.status, 202);
      const { run_id, run_token } = (await started.json()) as { run_id: string; run_token: string };
      const other = (await (
        await call("POST", "/runs", "admin-secret", { plugin_id: "worker", entry_id: "quick", args: { n: 1 } })
      ).json()) as { run_token: string };
      assert.equal((await call("GET", `/runs/${run_id}`)).status, 401);
      assert.equal((await call("GET", `/runs/${run_id}`, other.run_token)).status, 401, "another run's token");
      assert.equal((await call("GET", `/runs/${run_id}`, run_token)).status, 200);
      assert.equal((await call("GET", `/runs/${run_id}/export`, run_token)).status, 200);
      assert.equal((await call("GET", "/runs", run_token)).status, 401, "not the list of runs");
      assert.equal((await call("GET", "/plugins", run_token)).status, 401, "not other routes");
      assert.equal(
        (await call("GET", "/runs/%E0%A4%A", run_token)).status,
        400,
        "a malformed id is refused, not a crash",
      );
      assert.equal((await call("POST", `/runs/${run_id}/cancel`, run_token)).status, 200);
      assert.equal((await call("GET", `/runs/${run_id}`, "admin-secret")).status, 200);
      await untilStatus(run_id, ["canceled"]);
    } finally {
      await server.close();
    }
  });

  test("only the latest finished runs are kept, trigger runs forgotten before POST /runs ones", async () => {
    const ids: string[] = [];
    for (let n = 0; n < 10; n++) ids.push((await startRun("quick", { n })).body.run_id);
    await waitFor(async () => (await t.request("GET", "/runs?status=running")).body.runs.length === 0);
    const kept = (await t.request("GET", "/runs?limit=500")).body.runs;
    assert.equal(kept.length, 8);
    assert.ok(
      kept.every((r: any) => r.kind === "run" && ids.includes(r.run_id)),
      "every trigger run and every older run went first",
    );
    const gone = [];
    for (const id of ids) if ((await t.request("GET", `/runs/${id}`)).status === 404) gone.push(id);
    assert.equal(gone.length, 2, "two of the ten were forgotten");
    assert.deepEqual((await getRun(ids[9])).result, 9);
  });
});
