import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import os from "node:os";
import { describe, test } from "node:test";
import { parseManifest } from "../../src/manifest/plugin-manifest.ts";
import { launchPermissions, permissionFlags, type ProcessPermissions } from "../../src/supervisor/permission-flags.ts";
import type { LaunchRequest } from "../../src/supervisor/plugin-launcher.ts";
import { realpathOrSelf } from "../../src/supervisor/runtime-read-paths.ts";

const NONE: ProcessPermissions = { fsRead: [], fsWrite: [], childProcess: false, workerThreads: false };

function request(permissions: ProcessPermissions | undefined): LaunchRequest {
  return {
    pluginId: "p",
    pluginDir: "/plugins/p",
    entryModule: "/plugins/p/index.ts",
    className: "P",
    secret: "s",
    connection: { endpoint: "ipc:///run/host.sock", routingId: "0".repeat(32), curve: null },
    context: {},
    maxHeapMb: 256,
    ...(permissions && { permissions }),
  };
}

const runtime = { read: ["/repo/packages/sdk", "/cache"] };
const ALWAYS = [
  "--allow-worker",
  "--allow-addons",
  "--disable-warning=ExperimentalWarning",
  "--disable-warning=SecurityWarning",
];

describe("permissionFlags", () => {
  test("by default: read the plugin folder and the runtime's paths; write data/ only; nothing of the run folder", () => {
    assert.deepEqual(permissionFlags(request(NONE), runtime), [
      "--experimental-permission",
      "--allow-fs-read=/plugins/p/*",
      "--allow-fs-read=/repo/packages/sdk/*",
      "--allow-fs-read=/cache/*",
      "--allow-fs-write=/plugins/p/data/*",
      ...ALWAYS,
    ]);
  });

  test("grants: paths relative to the plugin folder or absolute, each with what is below it; child processes", () => {
    const flags = permissionFlags(
      request({
        fsRead: ["../shared", "/etc/hosts", "/"],
        fsWrite: ["out", "."],
        childProcess: true,
        workerThreads: true,
      }),
      runtime,
    );
    assert.deepEqual(
      flags.filter((f) => f.startsWith("--allow-fs-read=")),
      [
        "--allow-fs-read=/plugins/p/*",
        "--allow-fs-read=/repo/packages/sdk/*",
        "--allow-fs-read=/cache/*",
        "--allow-fs-read=/plugins/shared/*",
        "--allow-fs-read=/etc/hosts/*",
        "--allow-fs-read=/*",
      ],
    );
    assert.deepEqual(
      flags.filter((f) => f.startsWith("--allow-fs-write=")),
      ["--allow-fs-write=/plugins/p/data/*", "--allow-fs-write=/plugins/p/out/*", "--allow-fs-write=/plugins/p/*"],
    );
    assert.ok(flags.includes("--allow-child-process"));
    // worker_threads is the runtime's to refuse: Node's flag is on for the module hooks' thread either way.
    assert.equal(flags.filter((f) => f === "--allow-worker").length, 1);
  });

  test("child_process is off unless granted", () => {
    assert.equal(permissionFlags(request(NONE), runtime).includes("--allow-child-process"), false);
  });

  test("a path reached through a symlink is granted under its real path too", () => {
    const realpath = (p: string) => p.replace(/^\/plugins\//, "/srv/real/");
    const flags = permissionFlags(request({ ...NONE, fsWrite: ["out"] }), { ...runtime, realpath });
    for (const expected of [
      "--allow-fs-read=/plugins/p/*",
      "--allow-fs-read=/srv/real/p/*",
      "--allow-fs-write=/plugins/p/data/*",
      "--allow-fs-write=/srv/real/p/data/*",
      "--allow-fs-write=/srv/real/p/out/*",
    ]) {
      assert.ok(flags.includes(expected), expected);
    }
  });

  test("Node starts with every set of flags it makes: a folder twice, nested, the root, a file, a path not there yet", () => {
    const flags = permissionFlags(
      {
        ...request({ ...NONE, fsRead: [".", "..", "/", "/etc/hostname", "missing"], fsWrite: ["data", "data/x"] }),
        pluginDir: process.cwd(),
      },
      { read: [process.cwd(), os.tmpdir()], realpath: realpathOrSelf },
    );
    const run = spawnSync(process.execPath, [...flags, "-e", "process.stdout.write('started')"], { encoding: "utf8" });
    assert.equal(run.stdout, "started", run.stderr);
  });

  test("no flags at all when the plugin runs without the permission model", () => {
    assert.deepEqual(permissionFlags(request(undefined), runtime), []);
  });
});

describe("launchPermissions", () => {
  const manifest = (extra: string) => {
    const parsed = parseManifest(`[plugin]\nid = "p"\nentry = "index.ts:P"\n${extra}`, { file: "plugin.toml" });
    assert.ok(parsed.ok);
    return parsed.manifest;
  };

  test("the manifest's grants; none by default", () => {
    assert.deepEqual(launchPermissions(manifest(""), {}), NONE);
    assert.deepEqual(launchPermissions(manifest(`[plugin.permissions]\nfs_read = ["a"]\nchild_process = true\n`), {}), {
      ...NONE,
      fsRead: ["a"],
      childProcess: true,
    });
  });

  test("off for development: [plugin_runtime] permissions = false, or NEKO_PLUGIN_PERMISSIONS=off for all plugins", () => {
    assert.equal(launchPermissions(manifest(`[plugin_runtime]\npermissions = false\n`), {}), undefined);
    for (const value of ["off", "0", "false", "OFF"]) {
      assert.equal(launchPermissions(manifest(""), { NEKO_PLUGIN_PERMISSIONS: value }), undefined, value);
    }
    assert.deepEqual(launchPermissions(manifest(""), { NEKO_PLUGIN_PERMISSIONS: "on" }), NONE);
  });
});
