/**
 * build → install → run, through the real binary and real plugin processes: a copy of plugins/hello_world is packed,
 * installed into another plugins folder, and served; a tampered archive is refused by the binary with exit code 1.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { copyExamplePlugins, makeTempDir } from "../../../test/support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../../../test/support/test-host.ts";
import { tamper } from "./crafted-archive.ts";
import { removeTypeCheckBuildInfo } from "./type-check-build-info.ts";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/neko-plugin.js");
const temps: string[] = [];
let host: TestHost | undefined;
after(async () => {
  removeTypeCheckBuildInfo(temps);
  await host?.close();
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = makeTempDir("neko-archive-e2e-");
  temps.push(dir);
  return dir;
}

/** The binary's exit code, stdout and stderr; a non-zero exit is an answer here, not an exception. */
async function run(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test("build → install into another plugins folder → the plugin runs; a tampered archive is refused", async () => {
  const source = tempDir();
  copyExamplePlugins(source, ["hello_world"]);
  fs.writeFileSync(path.join(source, "hello_world", ".env"), "TOKEN=never-packed");
  const work = tempDir();

  const built = await run(["build", path.join(source, "hello_world")], { cwd: work });
  assert.equal(built.code, 0, built.stderr);
  const archive = path.join(fs.realpathSync(work), "hello_world-0.1.0.neko-plugin");
  assert.equal(built.stdout, `${archive}\n`, "stdout carries only the result path");
  assert.match(
    built.stderr,
    /^checking .*\nloading index\.ts in a child process…\ntype-checking .*\npacking 5 files \(1 excluded\)\nwrote /,
  );

  const pluginsDir = path.join(tempDir(), "plugins");
  const installed = await run(["install", archive, "--json"], { env: { NEKO_PLUGIN_DIRS: pluginsDir } });
  assert.equal(installed.code, 0, installed.stderr);
  assert.deepEqual(JSON.parse(installed.stdout), {
    ok: true,
    id: "hello_world",
    version: "0.1.0",
    dir: path.join(pluginsDir, "hello_world"),
    previous_dir: null,
  });
  assert.equal(fs.existsSync(path.join(pluginsDir, "hello_world", ".env")), false);

  const again = await run(["install", archive, "--plugins-dir", pluginsDir]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /hello_world exists already; pass --force/);

  const tampered = path.join(work, "tampered.neko-plugin");
  fs.writeFileSync(tampered, tamper(fs.readFileSync(archive), "Hello, ", "Pwned, "));
  const otherDir = path.join(tempDir(), "plugins");
  const refused = await run(["install", tampered, "--plugins-dir", otherDir]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /refused: 'index\.ts' does not match its checksum .*; nothing was written/);
  assert.equal(refused.stdout, "");
  assert.equal(fs.existsSync(otherDir), false);

  const noDir = await run(["install", archive], { env: { NEKO_PLUGIN_DIRS: "" } });
  assert.equal(noDir.code, 1);
  assert.match(noDir.stderr, /no plugins folder: pass --plugins-dir DIR or set NEKO_PLUGIN_DIRS/);

  host = await startTestHost({ roots: [pluginsDir] });
  const answer = await host.trigger("hello_world", "greet", { name: "archive" });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.match(JSON.stringify(answer.body), /Hello, archive!/);
  await host.close();
});
