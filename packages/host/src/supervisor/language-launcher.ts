/**
 * Hands each launch to the launcher of the plugin's language: Python plugins to one, every other to the other; a
 * plugin with `[plugin_runtime] isolation = "thread"` to the thread launcher when there is one (it refuses a Python
 * plugin with the reason).
 */
import type { LaunchPreparation, LaunchRequest, PluginChild, PluginLauncher } from "./plugin-launcher.ts";

export class LanguageLauncher implements PluginLauncher {
  constructor(private readonly launchers: { node: PluginLauncher; python: PluginLauncher; thread?: PluginLauncher }) {}

  prepare(request: LaunchPreparation): Promise<void> {
    return this.of(request).prepare?.(request) ?? Promise.resolve();
  }

  launch(request: LaunchRequest): PluginChild {
    return this.of(request).launch(request);
  }

  dispose(): void {
    this.launchers.node.dispose?.();
    this.launchers.python.dispose?.();
    this.launchers.thread?.dispose?.();
  }

  private of(request: LaunchPreparation): PluginLauncher {
    if (request.isolation === "thread" && this.launchers.thread) return this.launchers.thread;
    return request.language === "python" ? this.launchers.python : this.launchers.node;
  }
}
