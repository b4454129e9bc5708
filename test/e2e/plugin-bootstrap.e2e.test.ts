/**
 * What a plugin process gets at launch — its secret, its connection's credentials, its manifest and configuration —
 * comes through its bootstrap descriptor, an inherited socket: a plugin.toml far above Linux's 128 KiB cap on one
 * environment string starts, nothing of it is written to the run folder (which holds only the socket and the log
 * files), and nothing secret is in the process's environment or argv, where any process of the same user could read
 * it.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { createHostLogger, HostLogSink } from "@neko/host";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import fs from "node:fs";
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Big extends NekoPluginBase {
  @pluginEntry({ id: "sizes" })
  sizes() {
    let again = "";
    try {
      again = fs.readFileSync(Number(process.env.NEKO_BOOTSTRAP_FD), "utf8");
    } catch (error) {
      again = String((error as NodeJS.ErrnoException).code);
    }
    return Ok({
      config: (this.config.get("big.blob") as string).length,
      manifest: ((this.metadata.big as { blob: string }).blob).length,
      secretVariables: Object.keys(process.env).filter((name) => /SECRET|CONTEXT_FILE|ENDPOINT/.test(name)),
      bootstrapReadAgain: again,
      pid: process.pid,
      argv: [...process.execArgv, ...process.argv],
    });
  }
}
`;

const BLOB_LENGTH = 300 * 1024;
let root: string;
let t: TestHost;

before(async () => {
  root = makeTempDir();
  const manifest = `[plugin]\nid = "big"\nentry = "index.ts:Big"\n\n[big]\nblob = "${"b".repeat(BLOB_LENGTH)}"\n`;
  writePlugin(root, { id: "big", manifest, code });
  // The host logs everything, to its log file only: none of it may carry what a launch was given.
  const hostLines = new HostLogSink();
  t = await startTestHost({
    roots: [root],
    logger: createHostLogger({ level: "trace", pretty: false, sink: hostLines, destination: { write: () => true } }),
    logFiles: { hostLines },
  });
});
after(async () => {
  await t.close();
  fs.rmSync(root, { recursive: true, force: true });
});

test("a 300 KiB plugin.toml starts; the plugin sees all of it, and its bootstrap cannot be read twice", async () => {
  assert.equal(t.host.getPlugin("big")?.status, "running", t.host.getPlugin("big")?.status_reason ?? "");
  const res = await t.trigger("big", "sizes");
  const data = res.body.data as Record<string, unknown>;
  assert.equal(data.config, BLOB_LENGTH);
  assert.equal(data.manifest, BLOB_LENGTH);
  assert.deepEqual(data.secretVariables, []);
  // The SDK read the descriptor to its end and closed it before the plugin's code was loaded (the number may have
  // been reused by then, for a socket of its own: whatever it is, it no longer gives the bootstrap).
  assert.equal(typeof data.bootstrapReadAgain, "string");
  assert.doesNotMatch(data.bootstrapReadAgain as string, /secret|curve|routingId/);
});

test("neither the process's environment nor its argv holds anything of its bootstrap", async () => {
  const res = await t.trigger("big", "sizes");
  const { pid, argv: cmdline } = res.body.data as { pid: number; argv: string[] };
  const environ = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
  // Its argv as the process was started with it: /proc/<pid>/cmdline now shows its title ("neko-plugin: big").
  assert.ok(cmdline.length > 1);
  const names = environ.map((entry) => entry.split("=")[0]);
  assert.ok(names.includes("NEKO_PLUGIN_ID"), "the environment was read");
  for (const forbidden of ["NEKO_PLUGIN_SECRET", "NEKO_ENDPOINT", "NEKO_PLUGIN_CONTEXT_FILE"]) {
    assert.ok(!names.includes(forbidden), `${forbidden} is not in the environment`);
  }
  // The environment is the host's own, plus the variables that name the plugin, the descriptor and the plugin's
  // linked sources (a file of the compile cache): nothing the host made for this launch (a secret, a key, a routing
  // id) is in it, and no 48-hex-character secret is in argv. (Node adds its own IPC channel's two.)
  const launchVariables = [
    "NEKO_PLUGIN_ID",
    "NEKO_PLUGIN_DIR",
    "NEKO_PLUGIN_ENTRY",
    "NEKO_BOOTSTRAP_FD",
    "NEKO_PLUGIN_LINKED",
    "NODE_CHANNEL_FD",
    "NODE_CHANNEL_SERIALIZATION_MODE",
  ];
  for (const entry of environ.filter(Boolean)) {
    const name = entry.slice(0, entry.indexOf("="));
    if (launchVariables.includes(name)) continue;
    assert.equal(entry, `${name}=${process.env[name]}`, `${name} is the host's own`);
  }
  assert.equal(
    environ.find((e) => e.startsWith("NEKO_BOOTSTRAP_FD=")),
    "NEKO_BOOTSTRAP_FD=4",
  );
  assert.match(
    environ.find((e) => e.startsWith("NEKO_PLUGIN_LINKED=")) ?? "",
    /^NEKO_PLUGIN_LINKED=\/.+\/[0-9a-f]{40}\.link\/manifest\.json$/,
  );
  for (const text of cmdline) assert.doesNotMatch(text, /\b[0-9a-f]{48}\b/);
  const runDir = t.host
    .info()
    .transport_endpoint.replace(/^ipc:\/\//, "")
    .replace(/\/host\.sock$/, "");
  // The run folder holds the socket and the default log folder (docs/logging.md#log-files), nothing of a launch: the
  // log folder holds only the log files, and no line of them carries a secret or a key.
  assert.deepEqual(fs.readdirSync(runDir).sort(), ["host.sock", "logs"], "nothing but the socket and the logs");
  const logFiles = fs.readdirSync(path.join(runDir, "logs"), { recursive: true, withFileTypes: true });
  const files = logFiles.filter((f) => f.isFile()).map((f) => path.join(f.parentPath, f.name));
  assert.deepEqual(files.map((f) => path.relative(path.join(runDir, "logs"), f)).sort(), [
    "host.ndjson",
    path.join("plugins", "big.ndjson"),
  ]);
  for (const file of files) {
    const text = fs.readFileSync(file, "utf8");
    assert.match(text, /"msg":"plugin running"/, `${file} has the host's lines about the launch`);
    // No secret (48 hex characters), routing id (32) or field of the bootstrap's.
    assert.doesNotMatch(
      text,
      /\b[0-9a-f]{48}\b|\b[0-9a-f]{32}\b|"(secret|curve\w*|routingId)"/i,
      `${file} holds nothing of the bootstrap`,
    );
  }
});
