/** Hands each launch to the launcher of the plugin's language: Python plugins to one, every other to the other. */
import type { LaunchRequest, PluginChild, PluginLauncher } from "./plugin-launcher.ts";

export class LanguageLauncher implements PluginLauncher {
  constructor(private readonly launchers: { node: PluginLauncher; python: PluginLauncher }) {}

  launch(request: LaunchRequest): PluginChild {
    return (request.language === "python" ? this.launchers.python : this.launchers.node).launch(request);
  }
}
