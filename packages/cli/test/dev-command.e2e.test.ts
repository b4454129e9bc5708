/**
 * `neko-plugin dev` as an author uses it (issue 11): a real CLI process serving one plugin folder, edits saved while a
 * loop of calls runs. The new behaviour appears with no failed call; an edit that fails the check (a type error) or
 * cannot load (a syntax error) keeps the old version answering and prints the error with file:line.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import readline from "node:readline";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../../../test/support/plugin-fixtures.ts";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/neko-plugin.js");

function greeterCode(greeting: string, extra = ""): string {
  return `import { NekoPluginBase, nekoPlugin, Ok, pluginEntry, z } from "@neko/plugin-sdk/plugin";

const GreetParams = z.object({ name: z.string() });

@nekoPlugin
export class Greeter extends NekoPluginBase {
  @pluginEntry({ id: "greet", params: GreetParams })
  greet({ name }: z.infer<typeof GreetParams>) {
    return Ok({ message: \`${greeting}, \${name}!\`, pid: process.pid });
  }
${extra}}
`;
}

describe("neko-plugin dev", () => {
  let root: string;
  let dir: string;
  let child: ReturnType<typeof spawn>;
  let url: string;
  const output: string[] = [];

  before(async () => {
    root = makeTempDir();
    dir = writePlugin(root, { id: "greeter", className: "Greeter", code: greeterCode("Hello") });
    child = spawn(process.execPath, [bin, "dev", dir, "--port", "0", "--log-format", "json", "--debounce", "100"], {
      env: { ...process.env, NEKO_LOG_LEVEL: "info", NEKO_DATA_DIR: path.join(root, ".neko") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => output.push(line));
    readline.createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (line) => output.push(line));
    const readyLine = await waitFor(() => output.find((line) => line.includes("ready at")), {
      timeoutMs: 60_000,
      what: "dev's ready line",
    });
    url = /ready at (http:\/\/[^\s:]+:\d+)/.exec(readyLine)?.[1] ?? "";
    assert.match(readyLine, /greeter running/);
  });

  after(async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    }
    fs.rmSync(root, { recursive: true, force: true });
  });

  /**
   * One call, on a connection of its own: a reused keep-alive connection that the server closes as idle just as it is
   * reused fails with ECONNRESET, whatever the plugin does (a loaded machine makes that race likely).
   */
  const greet = () =>
    new Promise<{ status: number; body: { data?: { message: string; pid: number } } }>((resolve, reject) => {
      const payload = JSON.stringify({ plugin_id: "greeter", entry_id: "greet", args: { name: "Neko" } });
      const req = http.request(
        `${url}/plugin/trigger`,
        { method: "POST", agent: false, headers: { "content-type": "application/json" } },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk) => {
            text += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      req.on("error", reject);
      req.end(payload);
    });

  /** Saves `code`, keeps calling until `done` says so, and answers every call's result. */
  async function editWhileCalling(code: string, done: (answers: { status: number; message?: string }[]) => boolean) {
    const answers: { status: number; message?: string }[] = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        const res = await greet();
        answers.push({ status: res.status, message: res.body.data?.message });
      }
    })();
    await waitFor(() => answers.length >= 5, { what: "calls before the edit" });
    fs.writeFileSync(path.join(dir, "index.ts"), code);
    try {
      await waitFor(() => done(answers), { timeoutMs: 60_000, what: "the edit to take effect" });
    } finally {
      running = false;
      await loop;
    }
    return answers;
  }

  test("a saved edit is checked and swapped in while calls run: no call fails, the new greeting appears", async () => {
    const before = await greet();
    assert.equal(before.body.data?.message, "Hello, Neko!");
    const answers = await editWhileCalling(greeterCode("Bonjour"), (a) => a.at(-1)?.message === "Bonjour, Neko!");
    assert.deepEqual(
      answers.filter((a) => a.status !== 200),
      [],
    );
    const after = await greet();
    assert.equal(after.body.data?.message, "Bonjour, Neko!");
    assert.notEqual(after.body.data?.pid, before.body.data?.pid);
    await waitFor(() => output.some((line) => /reloaded greeter in \d+ ms \(pid \d+ → \d+\)/.test(line)));
    await waitFor(() => !isAlive(before.body.data?.pid ?? 0), { what: "the old process to exit" });
  });

  test("a type error fails the check: the old version keeps answering, the error has its file:line", async () => {
    const seen = output.length;
    // Not a syntax error: only the type-check finds it.
    const broken = greeterCode("Hi").replace("return Ok(", "const n: number = name;\n    return Ok(");
    fs.writeFileSync(path.join(dir, "index.ts"), broken);
    await waitFor(() => output.slice(seen).some((line) => line.includes("not reloaded")), {
      timeoutMs: 60_000,
      what: "the failed check",
    });
    const printed = output.slice(seen).join("\n");
    assert.match(printed, /\[FAIL\].*index\.ts:9:\d+.*TS2322/);
    assert.match(printed, /the running version keeps serving/);
    assert.equal((await greet()).body.data?.message, "Bonjour, Neko!");
  });

  test("a syntax error keeps the old version answering and says where", async () => {
    const seen = output.length;
    fs.writeFileSync(path.join(dir, "index.ts"), `${greeterCode("Hey")}\nconst = ;\n`);
    await waitFor(() => output.slice(seen).some((line) => line.includes("not reloaded")), {
      timeoutMs: 60_000,
      what: "the refused reload",
    });
    assert.match(output.slice(seen).join("\n"), /\[FAIL\] load: index\.ts:13:\d+ syntax error/);
    assert.equal((await greet()).body.data?.message, "Bonjour, Neko!");

    // Fixed: the next save takes it in.
    await editWhileCalling(greeterCode("Hey"), (a) => a.at(-1)?.message === "Hey, Neko!");
  });

  test("Ctrl-C stops the plugin process and exits 0", async () => {
    const { pid } = (await greet()).body.data ?? { pid: 0 };
    assert.ok(isAlive(pid));
    child.kill("SIGINT");
    const code = await new Promise((resolve) => child.once("exit", resolve));
    assert.equal(code, 0);
    assert.equal(isAlive(pid), false);
  });
});
