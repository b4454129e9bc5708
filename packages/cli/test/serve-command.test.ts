/** `neko-plugin serve` as a user runs it: a real process, real plugins, stopped by a signal. */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import readline from "node:readline";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../../../test/support/plugin-fixtures.ts";
import { simplePluginCode } from "../../../test/support/sample-plugins.ts";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/neko-plugin.js");

function startServe(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [bin, "serve", ...args], {
    env: { ...process.env, NEKO_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const ready = new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      lines.push(line);
      const match = /ready at (http:\/\/[^:]+:\d+)/.exec(line);
      if (match) resolve(match[1]);
    });
    child.on("exit", (code) => reject(new Error(`serve exited early with ${code}: ${lines.join("\n")}`)));
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const exitCode = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  // A serve that does not exit fails the test (and is killed) instead of hanging the suite. The time counts from the
  // spawn, start-up and plugins included, so it is generous: a loaded machine takes over 15 s; the runner's own limit
  // is 120 s.
  const exited = Promise.race([
    exitCode,
    new Promise<never>((_, reject) =>
      setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error("serve did not exit within 60 s of its start"));
      }, 60_000).unref(),
    ),
  ]);
  /**
   * Stops a serve still running as a user would (SIGTERM) and waits for it: a SIGKILL leaves the host's run folder
   * (neko-plugin-*) behind in the temp folder. The 60 s limit above still kills one that does not exit.
   */
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited.catch(() => undefined);
  };
  return { child, ready, exited, lines, stderr: () => stderr, stop };
}

/**
 * GET /plugins lists one, two and slow, each in a live process, two answers a call, and `/` is the manager page (built
 * on first use, with no step of its own, as `npm start` serves it): the plugins' pids.
 */
async function servesThePlugins(url: string): Promise<number[]> {
  const plugins = (await (await fetch(`${url}/plugins`)).json()) as { plugins: { id: string; pid: number }[] };
  assert.deepEqual(plugins.plugins.map((p) => p.id).sort(), ["one", "slow", "two"]);
  const pids = plugins.plugins.map((p) => p.pid);
  assert.ok(pids.every((pid) => isAlive(pid)));
  const res = await fetch(`${url}/plugin/trigger`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ plugin_id: "two", entry_id: "ping" }),
  });
  assert.deepEqual(((await res.json()) as { data: unknown }).data, { from: "two" });
  const page = await fetch(`${url}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>neko-plugin manager<\/title>/);
  return pids;
}

/** The status of `GET /health` sent to `url` with `Host: host` (fetch cannot set that header). */
function healthWithHost(url: string, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/health`, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("error", reject);
  });
}

describe("neko-plugin serve", () => {
  const root = makeTempDir();
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  writePlugin(root, { id: "one", className: "One", code: simplePluginCode("One") });
  writePlugin(root, { id: "two", className: "Two", code: simplePluginCode("Two") });
  writePlugin(root, {
    id: "slow",
    className: "Slow",
    code: `
import { NekoPluginBase, nekoPlugin, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Slow extends NekoPluginBase {
  @pluginEntry({ id: "nap", timeout: 60 })
  async nap() {
    await new Promise((r) => setTimeout(r, 30_000));
  }
}
`,
  });

  // One serve per signal, each also carrying a check of its own so that no third serve of the three plugins is needed:
  // SIGINT's answers the names of --allowed-host and NEKO_ALLOWED_HOSTS, SIGTERM's comes during a slow call.
  test("serves the plugins of --plugins-dir, answers the names of --allowed-host and NEKO_ALLOWED_HOSTS (others 421), and SIGINT stops every child process", async () => {
    const serve = startServe(["--port", "0", "--no-builtin", "--plugins-dir", root, "--allowed-host", "neko.test"], {
      NEKO_ALLOWED_HOSTS: "other.test:1234, third.test",
    });
    try {
      const url = await serve.ready;
      const pids = await servesThePlugins(url);
      const port = new URL(url).port;
      const statuses = Object.fromEntries(
        await Promise.all(
          ["neko.test", `neko.test:${port}`, "third.test:9", "other.test:1234", "other.test:1", `localhost:${port}`]
            .concat(["rebind.evil.example", `rebind.evil.example:${port}`])
            .map(async (host) => [host, await healthWithHost(url, host)]),
        ),
      );
      assert.deepEqual(statuses, {
        "neko.test": 200,
        [`neko.test:${port}`]: 200,
        "third.test:9": 200,
        "other.test:1234": 200,
        "other.test:1": 421,
        [`localhost:${port}`]: 200,
        "rebind.evil.example": 421,
        [`rebind.evil.example:${port}`]: 421,
      });
      serve.child.kill("SIGINT");
      assert.equal(await serve.exited, 0);
      for (const pid of pids) assert.equal(isAlive(pid), false, `plugin process ${pid} is gone`);
      assert.match(serve.lines.join("\n"), /"plugin":"two".*plugin running/, "logs are tagged by plugin");
    } finally {
      await serve.stop();
    }
  });

  test("serves the plugins; SIGTERM during a slow call stops at once (the call is answered, not waited for) and stops every child process", async () => {
    const serve = startServe(["--port", "0", "--no-builtin", "--plugins-dir", root]);
    try {
      const url = await serve.ready;
      const pids = await servesThePlugins(url);
      const call = fetch(`${url}/plugin/trigger`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ plugin_id: "slow", entry_id: "nap" }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error: { code: string } } }));
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      serve.child.kill("SIGTERM");
      assert.equal(await serve.exited, 0);
      assert.ok(Date.now() - started < 8000, `stopped after ${Date.now() - started} ms, not after the 30 s call`);
      const answer = await call;
      assert.equal(answer.status, 409);
      assert.equal(answer.body.error.code, "CANCELED");
      for (const pid of pids) assert.equal(isAlive(pid), false, `plugin process ${pid} is gone`);
      assert.match(serve.lines.join("\n"), /"plugin":"two".*plugin running/, "logs are tagged by plugin");
    } finally {
      await serve.stop();
    }
  });

  // The options' tests two at a time, after the two serves of the shared folder (which get the machine to themselves, as
  // each must start and stop within 60 s): each is a serve that starts and exits, mostly the CLI starting up.
  describe("options", { concurrency: 2 }, () => {
    test("a bad --port or NEKO_PORT is refused, naming which", async () => {
      const env = startServe(["--no-builtin"], { NEKO_PORT: "abc" });
      env.ready.catch(() => undefined);
      assert.equal(await env.exited, 1);
      assert.match(env.stderr(), /NEKO_PORT must be a whole number from 0 to 65535 \(got 'abc'\)/);
    });

    test("a bad --port is refused with a clear message", async () => {
      const serve = startServe(["--port", "99999", "--no-builtin"]);
      serve.ready.catch(() => undefined);
      assert.equal(await serve.exited, 1);
      assert.match(serve.stderr(), /--port must be a whole number from 0 to 65535/);
    });

    test("a malformed --allowed-host or NEKO_ALLOWED_HOSTS is refused, naming which", async () => {
      const flag = startServe(["--no-builtin", "--allowed-host", "not a name"]);
      flag.ready.catch(() => undefined);
      assert.equal(await flag.exited, 1);
      assert.match(flag.stderr(), /--allowed-host: 'not a name' is not a host name/);
      const env = startServe(["--no-builtin"], { NEKO_ALLOWED_HOSTS: "ok.test,http://x" });
      env.ready.catch(() => undefined);
      assert.equal(await env.exited, 1);
      assert.match(env.stderr(), /NEKO_ALLOWED_HOSTS: 'http:\/\/x' is not a host name/);
    });

    test("--log-format pretty: readable lines without colour in a pipe, '1 plugin', and one line per call", async () => {
      const single = makeTempDir();
      writePlugin(single, { id: "one", className: "One", code: simplePluginCode("One") });
      const serve = startServe(["--port", "0", "--no-builtin", "--plugins-dir", single, "--log-format", "pretty"]);
      try {
        const url = await serve.ready;
        // The real client, finding the server through NEKO_URL.
        const called = spawnSync(process.execPath, [bin, "call", "one:ping"], {
          env: { ...process.env, NEKO_URL: url },
          encoding: "utf8",
        });
        assert.equal(called.status, 0, called.stderr);
        assert.deepEqual(JSON.parse(called.stdout), { from: "one" });
        await waitFor(() => serve.lines.some((line) => line.includes("call one:ping")), { what: "the call's line" });
        const text = serve.lines.join("\n");
        assert.ok(!text.includes("\u001b["), "no escape codes in a pipe");
        assert.ok(!serve.lines.some((line) => line.startsWith("{")), "no JSON lines");
        assert.match(text, /INFO: ready at http:\/\/127\.0\.0\.1:\d+: 1 plugin \(1 running\)/);
        assert.match(text, /INFO: \[one\] call one:ping ok in [\d.]+ ms \(run [0-9a-f-]{36}\)$/m);
      } finally {
        await serve.stop();
        fs.rmSync(single, { recursive: true, force: true });
      }
    });

    test("a bad --transport is refused, naming the choices", async () => {
      const serve = startServe(["--no-builtin", "--transport", "carrier-pigeon"]);
      serve.ready.catch(() => undefined);
      assert.equal(await serve.exited, 1);
      assert.match(serve.stderr(), /--transport must be one of zmq, pipe \(got 'carrier-pigeon'\)/);
    });

    test("a bad --log-format is refused, naming it", async () => {
      const serve = startServe(["--no-builtin", "--log-format", "xml"]);
      serve.ready.catch(() => undefined);
      assert.equal(await serve.exited, 1);
      assert.match(serve.stderr(), /--log-format must be pretty or json \(got 'xml'\)/);
    });

    test("a non-loopback bind without NEKO_API_TOKEN is refused", async () => {
      const serve = startServe(["--port", "0", "--host", "0.0.0.0", "--no-builtin"], { NEKO_API_TOKEN: "" });
      serve.ready.catch(() => undefined);
      assert.equal(await serve.exited, 1);
      assert.match(serve.stderr(), /set NEKO_API_TOKEN/);
    });
  });
});
