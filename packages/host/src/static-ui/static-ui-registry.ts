/**
 * The static UI each running plugin registered with `this.registerStaticUi` (SPEC §3.4), behind
 * `GET /plugin/{id}/ui/…`. It answers `static_ui.register` requests, checking the folder on disk: it must exist, be a
 * folder, and its real path (symbolic links followed) must lie inside the plugin folder. A registration lasts as long
 * as the process that made it: it is forgotten when the plugin leaves `starting` / `running`.
 */
import fs from "node:fs";
import path from "node:path";
import { type Disposable, ErrorCode, isPathInside, type StaticUiInfo, type StaticUiRegistration } from "@neko/protocol";
import { type HostContext, releaseWithPlugin } from "../host-context.ts";
import { LIVE_STATES } from "../supervisor/plugin-state.ts";
import { failure, pluginNotFound, validationFailure, type WireFailure } from "../wire-result.ts";

/** What the server needs to serve one plugin's UI. */
export type StaticUi = StaticUiInfo;

export class StaticUiRegistry implements Disposable {
  private readonly uis = new Map<string, StaticUi>();
  private readonly registration: Disposable;

  constructor(private readonly ctx: HostContext) {
    this.registration = ctx.services.handle("static_ui.register", (params, { pluginId }) =>
      this.register(pluginId, params),
    );
  }

  /**
   * Checks the folder (the contract has checked the names) and keeps the registration while the process that made it
   * runs; a second one replaces it.
   */
  register(pluginId: string, registration: StaticUiRegistration): { ok: true; value: StaticUi } | WireFailure {
    const { dir, indexFile, cacheControl } = registration;
    const pluginDir = this.ctx.plugins.location(pluginId)?.dir;
    if (!pluginDir) return pluginNotFound(pluginId);
    const state = this.ctx.plugins.state(pluginId);
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
    const first = !this.uis.has(pluginId);
    this.uis.set(pluginId, ui);
    // The registration lasts as long as the process that made it.
    if (first) releaseWithPlugin(this.ctx, pluginId, "run", () => this.uis.delete(pluginId));
    const log = this.ctx.logger.child({ plugin: pluginId });
    log.info(`static UI '${ui.dir}' served at ${ui.path}`);
    if (!fs.existsSync(path.join(ui.root, indexFile))) {
      log.warn(`static UI '${ui.dir}' has no ${indexFile}: ${ui.path} answers 404 until there is one`);
    }
    return { ok: true, value: ui };
  }

  get(pluginId: string): StaticUi | undefined {
    return this.uis.get(pluginId);
  }

  debugCounts(): Record<string, number> {
    return { "staticUi.registered": this.uis.size };
  }

  dispose(): void {
    this.registration.dispose();
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
