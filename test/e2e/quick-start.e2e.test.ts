/**
 * docs/quick-start.md, run as a reader pastes it (issue 11): its shell blocks in order, in bash, from an empty
 * folder, with the `PATH` its first block sets. Two changes only: `npm install` is not run again (this checkout is
 * installed), and the port is a free one. The `dev` block runs in the background as the reader's first terminal; each
 * `call` must print the JSON block that follows it in the page.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { makeTempDir, waitFor } from "../support/plugin-fixtures.ts";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const page = fs.readFileSync(path.join(repo, "docs/quick-start.md"), "utf8");

/** The page's fenced blocks in order, each with its language. */
const blocks = [...page.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], text: m[2] }));

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const temp = makeTempDir("neko-quick-start-");
let dev: ChildProcess | undefined;
/** The folder the page's `mktemp -d` made. */
let workDir: string | undefined;
after(async () => {
  if (dev && dev.exitCode === null) {
    dev.kill("SIGKILL");
    await new Promise((resolve) => dev?.once("exit", resolve));
  }
  fs.rmSync(temp, { recursive: true, force: true });
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

test("the quick start works as written, from an empty folder", { timeout: 240_000 }, async () => {
  const sh = blocks.filter((b) => b.lang === "sh");
  assert.equal(sh.length, 8, "the page's shell blocks: setup, init, check+test, dev, call, edit, call, build+install");
  const port = await freePort();
  const stateFile = path.join(temp, "cwd");
  // The reader's shell: the repository is where they start. (The machine's temp folder is left as it is, so the
  // TypeScript caches there are warm, as on a reader's machine after a first run.)
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: temp, NO_COLOR: "1", NEKO_LOG_FORMAT: "json" };
  delete env.NODE_TEST_CONTEXT;
  let cwd = repo;
  let shellPath = env.PATH ?? "";

  /** Runs one block in bash where the previous one left off; answers its stdout. */
  const run = (block: string, what: string): string => {
    const script = [
      "set -euo pipefail",
      block.replaceAll("8080", String(port)),
      `pwd > ${JSON.stringify(stateFile)}`,
      `printf '%s' "$PATH" > ${JSON.stringify(`${stateFile}.path`)}`,
    ].join("\n");
    const result = spawnSync("bash", ["-c", script], {
      cwd,
      env: { ...env, PATH: shellPath },
      encoding: "utf8",
      timeout: 180_000,
    });
    assert.equal(result.status, 0, `${what} failed:\n${block}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
    cwd = fs.readFileSync(stateFile, "utf8").trim();
    shellPath = fs.readFileSync(`${stateFile}.path`, "utf8");
    return result.stdout;
  };
  /** The JSON block that follows `block` in the page. */
  const jsonAfter = (block: (typeof blocks)[number]) => JSON.parse(blocks[blocks.indexOf(block) + 1].text);

  const [setup, init, checkAndTest, devBlock, call, edit, callAgain, pack] = sh;

  // 1. The command on the PATH (the checkout is already installed).
  assert.match(setup.text, /^npm install$/m);
  const version = run(setup.text.replace(/^npm install$/m, ": npm install, done already"), "setup");
  assert.match(version, /^\d+\.\d+\.\d+$/m);
  assert.ok(shellPath.startsWith(path.join(repo, "node_modules/.bin")), shellPath);

  // 2. An empty folder, and the plugin in it.
  run(init.text, "init");
  workDir = cwd;
  assert.ok(cwd.startsWith(os.tmpdir()) && cwd !== repo, `mktemp -d made ${cwd}`);
  assert.deepEqual(fs.readdirSync(cwd), ["greeter"], "an empty folder, with only the new plugin in it");
  for (const file of ["plugin.toml", "index.ts", "index.test.ts", "tsconfig.json", "README.md"]) {
    assert.ok(fs.existsSync(path.join(cwd, "greeter", file)), file);
  }

  // 3. check and test pass.
  const checked = run(checkAndTest.text, "check and test");
  assert.match(checked, /\[OK\]/);
  assert.doesNotMatch(checked, /\[FAIL\]/);

  // 4. dev, in the background: the first terminal.
  const devLines: string[] = [];
  dev = spawn("bash", ["-c", devBlock.text.replaceAll("8080", String(port))], {
    cwd,
    env: { ...env, PATH: shellPath },
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [dev.stdout, dev.stderr]) {
    readline.createInterface({ input: stream as NodeJS.ReadableStream }).on("line", (line) => devLines.push(line));
  }
  await waitFor(() => devLines.some((line) => line.includes(`ready at http://127.0.0.1:${port}: greeter running`)), {
    timeoutMs: 120_000,
    what: `dev's ready line; it printed:\n${devLines.join("\n")}`,
  });

  // 5. The call prints what the page shows.
  assert.deepEqual(JSON.parse(run(call.text, "call")), jsonAfter(call));

  // 6. The edit is reloaded, and the next call shows it.
  run(edit.text, "edit");
  await waitFor(() => devLines.some((line) => /reloaded greeter in \d+ ms/.test(line)), {
    timeoutMs: 120_000,
    what: `the reload; dev printed:\n${devLines.join("\n")}`,
  });
  assert.deepEqual(JSON.parse(run(callAgain.text, "call after the edit")), jsonAfter(callAgain));

  // Ctrl-C in the first terminal.
  dev.kill("SIGINT");
  const code = await new Promise((resolve) => dev?.once("exit", resolve));
  assert.equal(code, 0);

  // 7. Packed, installed elsewhere, and the installed copy checks OK.
  const packed = run(pack.text, "build and install");
  assert.ok(fs.existsSync(path.join(cwd, "greeter.neko-plugin")));
  assert.ok(fs.existsSync(path.join(cwd, "installed/greeter/index.ts")));
  assert.match(packed, /\[OK\]/);
});
