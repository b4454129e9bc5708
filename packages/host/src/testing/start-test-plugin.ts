/**
 * `@neko/host/testing`: the throw-away host behind `@neko/plugin-sdk/testing` (docs/testing.md). It runs a copy of the
 * plugin's folder (its `data/` left out, so a test starts clean and leaves the folder as it was) from a temporary
 * plugins root, with the host's own data in the same temporary folder, no HTTP server, and the fakes answering the
 * plugin's `plugins.call` and `memory.*` requests through `HostServices.intercept`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Disposable, DisposableStore } from "@neko/protocol";
import type {
  TestCallResult,
  TestHostModule,
  TestHostRequest,
  TestLogLine,
  TestPlugin,
} from "@neko/plugin-sdk/testing";
import { parse, stringify } from "smol-toml";
import { isTable, mergeConfig } from "../config/config-merge.ts";
import { createSilentLogger } from "../host-logger.ts";
import { inspectPluginFolder } from "../manifest/plugin-discovery.ts";
import { PluginHost } from "../plugin-host.ts";

/** The framework's own example plugins, where an extension's host plugin is looked for last. */
const FRAMEWORK_PLUGINS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../plugins");

/** What is never copied: runtime data, and what a folder under version control keeps beside its code. */
const LEFT_OUT = new Set(["data", ".git"]);

/**
 * The temp folders of test plugins not stopped yet: a test that fails before its `stop()` leaves none behind when its
 * process exits (its plugin processes end with it: they exit when their parent goes).
 */
const liveTemps = new Set<string>();
process.on("exit", () => {
  for (const temp of liveTemps) fs.rmSync(temp, { recursive: true, force: true });
});

export const startTestPlugin: TestHostModule["startTestPlugin"] = async (request) => {
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), "neko-test-plugin-"));
  liveTemps.add(temp);
  const owned = new DisposableStore();
  let host: PluginHost | undefined;
  const cleanUp = async () => {
    owned.dispose();
    await host?.stop();
    fs.rmSync(temp, { recursive: true, force: true });
    liveTemps.delete(temp);
  };
  try {
    const root = path.join(temp, "plugins");
    const under = await readPlugin(request.dir);
    copyPlugin(request.dir, root, request.config);
    const others = [...request.alongside];
    let target = under.id;
    let prefix = "";
    if (under.type === "extension") {
      const hostId = under.host?.pluginId ?? "";
      others.unshift(request.hostPluginDir ?? findHostPlugin(request.dir, hostId));
      target = hostId;
      prefix = under.host?.prefix ?? "";
    }
    const alongside = await Promise.all(others.map(async (dir) => (copyPlugin(dir, root), readPlugin(dir))));

    host = await PluginHost.create({
      roots: [root],
      // Its own socket, whatever NEKO_TRANSPORT_ENDPOINT the test's environment names.
      endpoint: `ipc://${path.join(temp, "host.sock")}`,
      dataDir: path.join(temp, "host-data"),
      logger: createSilentLogger(),
      logFiles: false,
      logCalls: false,
    });
    owned.add(fakePluginCalls(host, request.plugins));
    owned.add(fakeMemory(host, request.memory));
    const lines: TestLogLine[] = [];
    owned.add(host.events.onLog(({ pluginId, record }) => pluginId === target && lines.push(record)));

    for (const other of alongside) {
      if (other.id !== target && other.type !== "extension") await started(host, other.id);
    }
    await started(host, target);
    if (under.type === "extension") {
      const view = host.getPlugin(target)?.extensions.find((e) => e.id === under.id);
      if (view?.state !== "injected") {
        throw new Error(`extension '${under.id}' was not injected into '${target}': ${view?.reason ?? view?.state}`);
      }
    }
    const pid = host.getPlugin(target)?.pid ?? 0;
    const running = host;
    let stopping: Promise<void> | undefined;
    const plugin: TestPlugin = {
      id: under.id,
      pid,
      // The value's type is the test's to say, as with `this.plugins.callEntry<T>`.
      call: <T>(entryId: string, args = {}, options: { timeoutMs?: number } = {}) =>
        running.callEntry(target, prefix + entryId, args, options) as Promise<TestCallResult<T>>,
      logs: () => [...lines],
      stop: () => {
        stopping ??= cleanUp();
        return stopping;
      },
      [Symbol.asyncDispose]: () => plugin.stop(),
    };
    return plugin;
  } catch (error) {
    await cleanUp();
    throw error;
  }
};

async function readPlugin(dir: string) {
  const found = await inspectPluginFolder(dir);
  if (!found.manifest) throw new Error(`${dir}: ${found.problems.join("; ") || "no plugin.toml"}`);
  return found.manifest;
}

/** Copies `dir` into `root` under its own folder name, with `config` merged into its manifest. */
function copyPlugin(dir: string, root: string, config?: Record<string, unknown>): string {
  const copy = path.join(root, path.basename(dir));
  if (fs.existsSync(copy)) throw new Error(`two plugin folders named '${path.basename(dir)}' cannot run together`);
  fs.cpSync(dir, copy, {
    recursive: true,
    filter: (source) => path.dirname(source) !== dir || !LEFT_OUT.has(path.basename(source)),
  });
  if (config !== undefined) {
    if ("plugin" in config) throw new TypeError("config cannot change the [plugin] table; edit plugin.toml instead");
    const manifestPath = path.join(copy, "plugin.toml");
    const merged = mergeConfig(parse(fs.readFileSync(manifestPath, "utf8")), config);
    fs.writeFileSync(manifestPath, stringify(merged));
  }
  return copy;
}

function findHostPlugin(extensionDir: string, hostId: string): string {
  const candidates = [path.join(path.dirname(extensionDir), hostId), path.join(FRAMEWORK_PLUGINS_DIR, hostId)];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, "plugin.toml")));
  if (!found) {
    throw new Error(
      `the extension's host plugin '${hostId}' is in none of ${candidates.join(", ")}: pass { hostPluginDir }`,
    );
  }
  return found;
}

async function started(host: PluginHost, id: string): Promise<void> {
  const result = await host.startPlugin(id);
  if (!result.ok) throw new Error(`plugin '${id}' did not start: ${result.error.code}: ${result.error.message}`);
}

/** `this.plugins.callEntry("p:e")` to a faked target answers from the fake; any other goes on to the host. */
function fakePluginCalls(host: PluginHost, fakes: TestHostRequest["plugins"]): Disposable {
  return host.services.intercept("plugins.call", (params, _ctx, next) => {
    const fake = fakes[`${params.pluginId}:${params.entryId}`];
    const args = isTable(params.args) ? params.args : {};
    return fake ? (fake(args) as Promise<never>) : next();
  });
}

function fakeMemory(host: PluginHost, fakes: TestHostRequest["memory"]): Disposable {
  const store = new DisposableStore();
  for (const name of ["store", "search", "get"] as const) {
    const fake = fakes[name];
    if (fake) {
      store.add(
        host.services.intercept(
          `memory.${name}`,
          // A fake's value is the test's to shape; the plugin's SDK reads it as it would the real service's.
          (params) => fake(params) as Promise<never>,
        ),
      );
    }
  }
  return store;
}
