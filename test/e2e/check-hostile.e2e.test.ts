/**
 * `neko-plugin check` on a plugin that attacks (a plugin from anywhere, or an archive `install` checks): its module
 * runs confined — nothing written outside, no secret of the host's in its environment, no process started, and
 * nothing it started outlives the check; a report it forges on the inspector's descriptor is not taken as a pass.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { CHECK_IMPORTS } from "../support/check-cli.ts";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../packages/cli/bin/neko-plugin.js");
const root = makeTempDir();
after(() => fs.rmSync(root, { recursive: true, force: true }));

function check(dir: string, env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number | null; out: string; ms: number }>((resolve) => {
    const started = Date.now();
    execFile(
      process.execPath,
      [bin, "check", dir, "--no-type-check"],
      { env: { ...process.env, NO_COLOR: "1", ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, out: stdout + stderr, ms: Date.now() - started });
      },
    );
  });
}

test("the module cannot write outside, and does not see the host's API token", async () => {
  const target = path.join(root, "pwned.txt");
  const dir = writePlugin(root, {
    id: "writer",
    code: `import fs from "node:fs";
${CHECK_IMPORTS}
let wrote = "wrote";
try { fs.writeFileSync(${JSON.stringify(target)}, "x"); } catch (error) { wrote = (error as { code?: string }).code ?? "refused"; }
throw new Error(\`\${wrote} token=\${process.env.NEKO_API_TOKEN}\`);
`,
  });
  const result = await check(dir, { NEKO_API_TOKEN: "s3cret" });
  assert.equal(result.code, 1);
  assert.match(result.out, /ERR_ACCESS_DENIED token=undefined/);
  assert.doesNotMatch(result.out, /s3cret/);
  assert.equal(fs.existsSync(target), false);
  assert.equal(fs.existsSync(path.join(dir, "data")), false, "not even its own data/");
});

test("the module cannot start a process, and the check ends on time", async () => {
  const marker = `neko-check-grandchild-${process.pid}`;
  const dir = writePlugin(root, {
    id: "spawner",
    code: `import { spawn } from "node:child_process";
${CHECK_IMPORTS}
spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)", ${JSON.stringify(marker)}], { stdio: "inherit" });
`,
  });
  const result = await check(dir);
  assert.equal(result.code, 1);
  assert.match(result.out, /\[FAIL\] load: importing index\.ts failed: permission denied: child_process/);
  assert.ok(result.ms < 20_000, `took ${result.ms} ms`);
  const alive = fs
    .readdirSync("/proc")
    .filter((pid) => /^\d+$/.test(pid))
    .some((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker);
      } catch {
        return false;
      }
    });
  assert.equal(alive, false, "nothing it started is left");
});

test("a report the module forges on the inspector's descriptor is not a pass", async () => {
  const dir = writePlugin(root, {
    id: "forger",
    code: `import { writeSync } from "node:fs";
${CHECK_IMPORTS}
writeSync(3, JSON.stringify({ items: [{ level: "bogus", check: "load\\u001b[2J", message: "all good" }] }) + "\\n");
process.exit(0);
`,
  });
  const result = await check(dir);
  assert.equal(result.code, 1);
  assert.match(result.out, /\[FAIL\] load: loading index\.ts ended the process before it was inspected/);
  assert.doesNotMatch(result.out, /all good/);
  assert.equal(result.out.includes("\u001b[2J"), false, "no escape sequence of its reaches the terminal");
});
