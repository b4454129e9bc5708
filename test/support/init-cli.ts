/** What the `neko-plugin init` end-to-end tests share: running the CLI, and checking one init'd folder end to end. */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const bin = path.join(repo, "packages/cli/bin/neko-plugin.js");
const tsc = path.join(repo, "node_modules/typescript/bin/tsc");

export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a Node script with arguments, from `cwd`, output piped. */
export function run(script: string, args: string[], cwd = repo): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { cwd, timeout: 100_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface InitAnswer {
  id: string;
  type: string;
  dir: string;
  files: string[];
  call: { pluginId: string; entryId: string; args: Record<string, unknown>; value: unknown };
}

/** Every file under `dir` with its text, to compare a folder before and after. */
export function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    fs
      .readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => {
        const file = path.join(d.parentPath, d.name);
        return [path.relative(dir, file), fs.readFileSync(file, "utf8")];
      }),
  );
}

/**
 * `init` of one type into `pluginsDir`, then the folder as its user would try it: its files, `tsc -p` with its own
 * tsconfig, and its own test under `neko-plugin test`.
 */
export async function initAndTry(type: string, pluginsDir: string): Promise<InitAnswer> {
  const id = `my_${type}`;
  const init = await run(bin, ["init", id, "--type", type, "--dir", pluginsDir, "--name", `My ${type}`, "--json"]);
  assert.equal(init.code, 0, init.stderr);
  const answer = JSON.parse(init.stdout) as InitAnswer;
  const dir = path.join(pluginsDir, id);
  assert.equal(answer.dir, dir);
  assert.deepEqual(fs.readdirSync(dir).sort(), [...answer.files].sort());
  assert.deepEqual(answer.files.sort(), [
    ".gitignore",
    "README.md",
    "index.test.ts",
    "index.ts",
    "plugin.toml",
    "tsconfig.json",
  ]);
  const manifest = fs.readFileSync(path.join(dir, "plugin.toml"), "utf8");
  assert.match(manifest, new RegExp(`id = "${id}"`));
  assert.match(manifest, new RegExp(`name = "My ${type}"`));
  assert.match(fs.readFileSync(path.join(dir, "index.ts"), "utf8"), /params: /);
  assert.match(fs.readFileSync(path.join(dir, "README.md"), "utf8"), /neko-plugin test/);

  // The type-check and the test side by side: neither writes into the folder, and each takes seconds.
  const [checked, tested] = await Promise.all([run(tsc, ["-p", dir]), run(bin, ["test", dir])]);
  assert.equal(checked.code, 0, `tsc -p ${dir}:\n${checked.stdout}${checked.stderr}`);

  assert.equal(tested.code, 0, `neko-plugin test ${dir}:\n${tested.stdout}${tested.stderr}`);
  assert.match(tested.stdout, /# fail 0/);
  assert.doesNotMatch(tested.stdout, /# pass 0\b/);
  // The test ran a copy: the folder itself got no runtime data.
  assert.equal(fs.existsSync(path.join(dir, "data")), false);
  return answer;
}

/** A server that sees `pluginsDir` answers each init'd entry's sample call with its sample value once it is ready. */
export async function serveAndCall(pluginsDir: string, made: InitAnswer[]): Promise<void> {
  const serve = spawn(process.execPath, [bin, "serve", "--port", "0", "--no-builtin", "--plugins-dir", pluginsDir], {
    env: { ...process.env, NEKO_LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => serve.on("exit", (code) => resolve(code)));
  try {
    const lines: string[] = [];
    const url = await new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: serve.stdout }).on("line", (line) => {
        lines.push(line);
        const match = /ready at (http:\/\/[^:]+:\d+)/.exec(line);
        if (match) resolve(match[1]);
      });
      serve.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${lines.join("\n")}`)));
    });
    for (const { call } of made) {
      const res = await fetch(`${url}/plugin/trigger`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ plugin_id: call.pluginId, entry_id: call.entryId, args: call.args }),
      });
      const body = (await res.json()) as { success: boolean; data: unknown; error: unknown };
      assert.equal(res.status, 200, `${call.pluginId}:${call.entryId}: ${JSON.stringify(body)}`);
      assert.deepEqual(body.data, call.value, `${call.pluginId}:${call.entryId}`);
    }
  } finally {
    serve.kill("SIGTERM");
    assert.equal(await exited, 0);
  }
}
