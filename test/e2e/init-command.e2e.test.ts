/**
 * `neko-plugin init` as a user runs it, for each paradigm: the folder it writes type-checks with its own tsconfig
 * (the framework's tsc), its own test passes under `neko-plugin test`, and a server that sees the folder answers a
 * call to its entry; an existing folder and a bad id are refused with nothing written.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { copyExamplePlugins, makeTempDir } from "../support/plugin-fixtures.ts";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(repo, "packages/cli/bin/neko-plugin.js");
const tsc = path.join(repo, "node_modules/typescript/bin/tsc");

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a Node script with arguments, from `cwd`, output piped. */
function run(script: string, args: string[], cwd = repo): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { cwd, timeout: 100_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

interface InitAnswer {
  id: string;
  type: string;
  dir: string;
  files: string[];
  call: { pluginId: string; entryId: string; args: Record<string, unknown>; value: unknown };
}

/** Every file under `dir` with its text, to compare a folder before and after. */
function snapshot(dir: string): Record<string, string> {
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

describe("neko-plugin init", () => {
  const root = makeTempDir();
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  const pluginsDir = path.join(root, "plugins");
  fs.mkdirSync(pluginsDir);
  // The extension's host plugin, beside it, as in a user's plugins folder.
  copyExamplePlugins(pluginsDir, ["hello_world"]);
  const made: InitAnswer[] = [];

  for (const type of ["plugin", "extension", "adapter"]) {
    test(`--type ${type}: the folder type-checks with its own tsconfig and its own test passes`, async () => {
      const id = `my_${type}`;
      const init = await run(bin, ["init", id, "--type", type, "--dir", pluginsDir, "--name", `My ${type}`, "--json"]);
      assert.equal(init.code, 0, init.stderr);
      const answer = JSON.parse(init.stdout) as InitAnswer;
      made.push(answer);
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

      const checked = await run(tsc, ["-p", dir]);
      assert.equal(checked.code, 0, `tsc -p ${dir}:\n${checked.stdout}${checked.stderr}`);

      const tested = await run(bin, ["test", dir]);
      assert.equal(tested.code, 0, `neko-plugin test ${dir}:\n${tested.stdout}${tested.stderr}`);
      assert.match(tested.stdout, /# fail 0/);
      assert.doesNotMatch(tested.stdout, /# pass 0\b/);
      // The test ran a copy: the folder itself got no runtime data.
      assert.equal(fs.existsSync(path.join(dir, "data")), false);
    });
  }

  test("a server that sees the folders answers a call to each new entry once it is ready", async () => {
    assert.equal(made.length, 3, "the init tests above ran");
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
      // The extension's entry is hello_world's, with the default prefix.
      assert.deepEqual(
        made.map((m) => `${m.call.pluginId}:${m.call.entryId}`),
        ["my_plugin:greet", "hello_world:my_extension_count_words", "my_adapter:request"],
      );
    } finally {
      serve.kill("SIGTERM");
      assert.equal(await exited, 0);
    }
  });

  test("an existing folder is refused (exit 1) and left as it was", async () => {
    const dir = path.join(root, "taken");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "notes.txt"), "mine");
    const before = snapshot(root);
    const refused = await run(bin, ["init", "taken", "--dir", root]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /taken exists and is not an empty folder; nothing was written/);
    // Nothing changed anywhere under the parent (no half-written staging folder either).
    assert.deepEqual(snapshot(root), before);
    // An empty folder is fine to fill.
    fs.mkdirSync(path.join(root, "empty"));
    assert.equal((await run(bin, ["init", "empty", "--dir", root])).code, 0);
    assert.ok(fs.existsSync(path.join(root, "empty", "plugin.toml")));
  });

  test("a bad id is a usage error (exit 2) naming the rule, with nothing written", async () => {
    const parent = makeTempDir();
    try {
      const spaced = await run(bin, ["init", "no spaces", "--dir", parent]);
      assert.equal(spaced.code, 2);
      assert.match(spaced.stderr, /the plugin id 'no spaces' must be letters, digits, '_' and '-', 1 to 128/);
      const reserved = await run(bin, ["init", "metrics", "--dir", parent]);
      assert.equal(reserved.code, 2);
      assert.match(reserved.stderr, /'metrics' is reserved/);
      const type = await run(bin, ["init", "fine", "--type", "widget", "--dir", parent]);
      assert.equal(type.code, 2);
      assert.match(type.stderr, /--type must be one of plugin, extension, adapter/);
      assert.deepEqual(fs.readdirSync(parent), []);
    } finally {
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });

  test("neko-plugin test passes node's exit code through, and refuses a folder that is not a plugin's", async () => {
    const dir = path.join(root, "failing");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "plugin.toml"), '[plugin]\nid = "failing"\nentry = "index.ts:Failing"\n');
    fs.writeFileSync(
      path.join(dir, "math.test.ts"),
      'import assert from "node:assert/strict";\nimport { test } from "node:test";\n' +
        'test("sums", () => assert.equal(1 + 1 as number, 3));\n',
    );
    const failed = await run(bin, ["test", dir]);
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /# fail 1/);
    const notPlugin = await run(bin, ["test", path.join(root, "taken")]);
    assert.equal(notPlugin.code, 1);
    assert.match(notPlugin.stderr, /is not a plugin folder \(it has no plugin\.toml\)/);
  });
});
