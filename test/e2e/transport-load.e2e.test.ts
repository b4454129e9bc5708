/**
 * Many calls in flight over the real sockets: every one is answered. (zeromq.js throws EBUSY for a send issued while
 * another is in progress, which happens every few hundred sends under load; a lost result used to surface as a
 * TIMEOUT at the deadline.)
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, test } from "node:test";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Echo extends NekoPluginBase {
  @pluginEntry({ id: "echo" })
  echo(args: { n: number }) {
    return args.n;
  }
}
`;

let root: string;
let t: TestHost;
before(async () => {
  root = makeTempDir();
  writePlugin(root, { id: "echo", className: "Echo", code });
  t = await startTestHost({ roots: [root] });
});
after(async () => {
  await t.close();
  fs.rmSync(root, { recursive: true, force: true });
});

test("3000 calls with 64 in flight all come back, each with its own answer", async () => {
  const total = 3000;
  let next = 0;
  const wrong: string[] = [];
  const worker = async () => {
    while (next < total) {
      const n = next++;
      const result = await t.host.callEntry("echo", "echo", { n }, { timeoutMs: 5000 });
      if (!result.ok || result.value !== n) wrong.push(`${n}: ${JSON.stringify(result)}`);
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  assert.deepEqual(wrong.slice(0, 3), []);
  assert.equal(wrong.length, 0);
});
