/**
 * `neko-plugin dev <dir>`: serves one plugin folder and reloads it on save. Each change (debounced) is checked —
 * manifest, load in a child process, type-check — and then swapped in: the new code starts in a new process, calls
 * move to it once it is ready, the old one drains (`PluginSupervisor.swap`). A change that fails the check or cannot
 * load leaves the running version serving, with the error and where.
 */
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { createHostLogger, type HostLogger, PluginHost } from "@neko/host";
import { createPluginServer, DEFAULT_HOST } from "@neko/server";
import { checkPluginFolder, formatCheckReport } from "../check/plugin-check.ts";
import { listenOrExit, readLogFormat, readPort, stopOnSignals } from "./serve-command.ts";

interface DevOptions {
  port?: string;
  host: string;
  pluginsDir: string[];
  typeCheck: boolean;
  logFormat?: string;
  debounce: string;
}

/** Path parts whose changes never reload: what the plugin writes, what tools write, editors' scratch files. */
const IGNORED_PARTS = new Set(["data", "node_modules", ".git"]);
const IGNORED_NAME = /(^\.|~$|\.swp$|\.swx$|\.tmp$|^4913$)/;

export function registerDevCommand(program: Command): void {
  program
    .command("dev")
    .description(
      "serve one plugin and reload it on save (checked first; the old version serves until the new is ready)",
    )
    .argument("<dir>", "the plugin folder (holding plugin.toml)")
    .option("-p, --port <port>", "port to listen on (default: $NEKO_PORT or 48916; 0 for any free port)")
    .option("-H, --host <address>", "address to bind", DEFAULT_HOST)
    .option("-d, --plugins-dir <dir>", "a plugin root to serve alongside (its host plugin, dependencies)", collect, [])
    .option("--no-type-check", "reload without type-checking the TypeScript first (faster)")
    .option("--debounce <ms>", "wait this long after the last change before reloading", "200")
    .option("--log-format <format>", "pretty or json (default: pretty on a terminal, json otherwise)")
    .addHelpText(
      "after",
      [
        "",
        "Each save is checked (as `neko-plugin check`), then the new code starts in a new process; calls move to it",
        "once it is ready and the old process finishes its calls. A change that fails keeps the old version serving.",
        "",
        "Examples:",
        "  $ neko-plugin dev ./greeter",
        "  $ neko-plugin dev ./greeter_extra --plugins-dir ./plugins   # an extension with its host plugin",
        "  $ neko-plugin dev ./greeter --port 0 --no-type-check",
      ].join("\n"),
    )
    .action((dir: string, options: DevOptions) => dev(dir, options));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function dev(dirArg: string, options: DevOptions): Promise<void> {
  const dir = path.resolve(dirArg);
  if (!fs.existsSync(path.join(dir, "plugin.toml"))) usage(`${dirArg} holds no plugin.toml: give a plugin's folder`);
  const port = readPort(options.port);
  const debounceMs = Number(options.debounce);
  if (!Number.isInteger(debounceMs) || debounceMs < 0 || debounceMs > 60_000) {
    usage(`--debounce must be a whole number of milliseconds from 0 to 60000 (got '${options.debounce}')`);
  }
  const logger = createHostLogger({ pretty: readLogFormat(options.logFormat) });
  const color = process.stderr.isTTY === true && !process.env.NO_COLOR;
  const check = () =>
    checkPluginFolder(dir, {
      typeCheck: options.typeCheck,
      pluginsDirs: options.pluginsDir,
      onProgress: (line) => logger.info(line),
    });

  // Watched from the start: a save while the first check or start runs is reloaded once the plugin is up.
  let reload: () => Promise<void> = async () => undefined;
  const reloader = new Reloader({
    reload: () => reload(),
    debounceMs,
    onError: (error) => logger.error({ err: error }, "the reload failed"),
  });
  // Counts saves: a save during a check means the checked text is not the one on disk any more.
  let saves = 0;
  const watcher = watchFolder(
    dir,
    (file) => {
      saves += 1;
      logger.info(`changed: ${file}`);
      reloader.schedule();
    },
    logger,
  );

  logger.info(`checking ${dir}…`);
  const first = await check();
  if (!first.ok) {
    process.stderr.write(`${formatCheckReport(first, { color })}\n`);
    logger.warn("the check failed: serving anyway, fix the plugin and save to reload");
  }
  const host = await PluginHost.create({ roots: options.pluginsDir, pluginFolders: [dir], logger });
  const server = await createPluginServer({ host, logger });
  const url = await listenOrExit({ server, host, address: options.host, port, command: "dev" });
  logger.info(`listening on ${url} — starting the plugin…`);
  await host.startAll();
  const id = host.listPlugins().find((p) => path.resolve(p.dir) === dir)?.id ?? first.id;
  const view = id === undefined ? undefined : host.getPlugin(id);
  logger.info(
    `ready at ${url}: ${id ?? path.basename(dir)} ${view?.status ?? "not found"}` +
      `${view?.status_reason ? ` (${view.status_reason})` : ""} — watching ${dirArg} for changes (Ctrl-C to stop)`,
  );

  reload = async () => {
    const started = performance.now();
    const savesBefore = saves;
    const report = await check();
    // Saved again meanwhile: what was checked is not what would load. The next reload checks the newest.
    if (saves !== savesBefore) return;
    if (!report.ok) {
      process.stderr.write(`${formatCheckReport(report, { color })}\n`);
      logger.warn(`not reloaded: the check failed${runningNote(host, report.id ?? id)}`);
      return;
    }
    const pluginId = report.id ?? id;
    if (pluginId === undefined) return;
    const before = host.getPlugin(pluginId);
    const result = before ? await host.reloadPlugin(pluginId) : await host.reloadAll();
    const after = host.getPlugin(pluginId);
    if (after && after.status !== "running" && after.status !== "stopping" && after.status !== "disabled") {
      // Not up (its first start failed, or it was stopped): a reload by hand starts it.
      const start = await host.startPlugin(pluginId);
      if (!start.ok) {
        logger.warn(`not started: ${start.error.message}`);
        return;
      }
    }
    const ms = Math.round(performance.now() - started);
    if (!result.ok) {
      logger.warn(`not reloaded: ${result.error.message}`);
      return;
    }
    const now = host.getPlugin(pluginId);
    const pids = before?.pid && now?.pid && before.pid !== now.pid ? ` (pid ${before.pid} → ${now.pid})` : "";
    logger.info(`reloaded ${pluginId} in ${ms} ms${pids}`);
  };
  reloader.release();

  stopOnSignals({
    server,
    host,
    logger,
    beforeStop: () => {
      watcher.close();
      reloader.dispose();
    },
  });
}

function runningNote(host: PluginHost, id: string | undefined): string {
  const view = id === undefined ? undefined : host.getPlugin(id);
  return view?.status === "running" ? "; the running version keeps serving" : "";
}

/** Runs `reload` once changes have stopped for `debounceMs`; never two at once, and a change during one runs another. */
class Reloader {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  /** Until `release`, a change is only remembered (the first start is under way). */
  private held = true;
  private pending = false;

  constructor(
    private readonly options: { reload: () => Promise<void>; debounceMs: number; onError: (error: unknown) => void },
  ) {}

  schedule(): void {
    if (this.held) {
      this.pending = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), this.options.debounceMs);
  }

  /** The first start is done: changes reload from now on, and one made meanwhile does so at once. */
  release(): void {
    this.held = false;
    if (this.pending) this.schedule();
  }

  private run(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.options
      .reload()
      .catch(this.options.onError)
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.run();
        }
      });
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}

/** Calls `onChange` with the relative path of each changed file of the plugin that is not data, a dotfile or scratch. */
function watchFolder(dir: string, onChange: (file: string) => void, logger: HostLogger): fs.FSWatcher {
  const watcher = fs.watch(dir, { recursive: true }, (_event, name) => {
    if (name === null) return;
    const parts = name.split(path.sep);
    if (parts.some((part) => IGNORED_PARTS.has(part) || IGNORED_NAME.test(part))) return;
    onChange(name);
  });
  watcher.on("error", (error) => logger.warn({ err: error }, "watching the plugin folder failed"));
  return watcher;
}

function usage(message: string): never {
  process.stderr.write(`neko-plugin dev: ${message}\n`);
  process.exit(2);
}
