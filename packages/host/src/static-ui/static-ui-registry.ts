/**
 * The static UI each running plugin registered with `this.registerStaticUi` (SPEC §3.4), behind
 * `GET /plugin/{id}/ui/…`. It answers `static_ui.register` requests, checking the folder on disk: it must exist, be a
 * folder, and its real path (symbolic links followed) must lie inside the plugin folder. A registration lasts as long
 * as the process that made it: it is forgotten when the plugin leaves `starting` / `running`.
 */
import fs from "node:fs";
import path from "node:path";
import {
  ErrorCode,
  isPathInside,
  STATIC_UI_REGISTER_METHOD,
  type StaticUiRegistration,
  staticUiRegistrationProblem,
  type WireResult,
} from "@neko/protocol";
import type { HostLogger } from "../host-logger.ts";
import type { HostServices } from "../host-services.ts";
import type { PluginState, StateChange } from "../supervisor/plugin-state.ts";
import { failure, pluginNotFound, validationFailure, type WireFailure } from "../wire-result.ts";

/** What the server needs to serve one plugin's UI. */
export interface StaticUi {
  /** The URL path it is served at: `/plugin/<id>/ui/`. */
  path: string;
  /** The folder as the plugin named it, relative to the plugin folder. */
  dir: string;
  /** Its real path (symbolic links resolved), inside the plugin folder's real path. */
  root: string;
  indexFile: string;
  cacheControl: string;
}

export interface StaticUiRegistryOptions {
  services: HostServices;
  logger: HostLogger;
  /** The folder of a plugin the host owns. */
  pluginDir: (pluginId: string) => string | undefined;
  /** The plugin's current state. */
  pluginState: (pluginId: string) => PluginState | undefined;
  /** Subscribes to state changes of every plugin; returns an unsubscribe. */
  onStateChange: (listener: (pluginId: string, change: StateChange) => void) => () => void;
}

/** The states in which the process that registered a UI may still be alive and serving. */
const LIVE_STATES: ReadonlySet<PluginState> = new Set(["starting", "running"]);

export class StaticUiRegistry {
  private readonly uis = new Map<string, StaticUi>();
  private readonly unsubscribe: () => void;

  constructor(private readonly options: StaticUiRegistryOptions) {
    options.services.handle(STATIC_UI_REGISTER_METHOD, (params, { pluginId }) => this.register(pluginId, params));
    this.unsubscribe = options.onStateChange((pluginId, change) => {
      if (!LIVE_STATES.has(change.state)) this.forget(pluginId);
    });
  }

  /** Checks the folder and keeps the registration; a second one from the same plugin replaces the first. */
  register(pluginId: string, params: unknown): WireResult {
    const problem = staticUiRegistrationProblem(params);
    if (problem) return validationFailure(`registerStaticUi: ${problem.message}`, problem.field);
    const { dir, indexFile, cacheControl } = params as StaticUiRegistration;
    const pluginDir = this.options.pluginDir(pluginId);
    if (!pluginDir) return pluginNotFound(pluginId);
    const state = this.options.pluginState(pluginId);
    if (!state || !LIVE_STATES.has(state)) {
      return failure(ErrorCode.PluginNotRunning, `plugin '${pluginId}' is not running (state: ${state})`);
    }
    const located = locateUiFolder(pluginDir, dir);
    if (!located.ok) return located;
    const ui: StaticUi = {
      path: `/plugin/${pluginId}/ui/`,
      dir: path.relative(pluginDir, path.resolve(pluginDir, dir)).split(path.sep).join("/"),
      root: located.value,
      indexFile,
      cacheControl,
    };
    this.uis.set(pluginId, ui);
    const log = this.options.logger.child({ plugin: pluginId });
    log.info(`static UI '${ui.dir}' served at ${ui.path}`);
    if (!fs.existsSync(path.join(ui.root, indexFile))) {
      log.warn(`static UI '${ui.dir}' has no ${indexFile}: ${ui.path} answers 404 until there is one`);
    }
    return { ok: true, value: ui };
  }

  get(pluginId: string): StaticUi | undefined {
    return this.uis.get(pluginId);
  }

  forget(pluginId: string): void {
    this.uis.delete(pluginId);
  }

  dispose(): void {
    this.unsubscribe();
    this.uis.clear();
  }
}

/**
 * The real path of `<pluginDir>/<dir>`, or why it cannot be a UI folder. Synchronous on purpose: the registration is
 * decided in one turn of the event loop, so a stop in between cannot be overtaken by it.
 */
function locateUiFolder(pluginDir: string, dir: string): { ok: true; value: string } | WireFailure {
  const refuse = (message: string) => validationFailure(`registerStaticUi: ${message}`, "dir");
  const wanted = path.resolve(pluginDir, dir);
  let realPluginDir: string;
  let root: string;
  let isFolder: boolean;
  try {
    realPluginDir = fs.realpathSync(pluginDir);
    root = fs.realpathSync(wanted);
    isFolder = fs.statSync(root).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      return refuse(`the folder '${dir}' does not exist in the plugin folder (${wanted})`);
    }
    return refuse(`the folder '${dir}' cannot be read: ${(error as Error).message}`);
  }
  if (!isPathInside(realPluginDir, root)) {
    return refuse(`'${dir}' leads outside the plugin folder through a symbolic link (to ${root})`);
  }
  if (root === realPluginDir) return refuse(`'${dir}' is the plugin folder itself (through a symbolic link)`);
  if (!isFolder) return refuse(`'${dir}' is not a folder`);
  return { ok: true, value: root };
}
