/**
 * What every plugin launcher gives its child, whatever the language: the environment that names the plugin (nothing
 * secret: any process of the same user can read it in /proc), and the bootstrap document written once on the socket
 * the child inherits as fd `BOOTSTRAP_FD` (the secret, the connection's credentials, the context).
 */
import type { ChildProcess } from "node:child_process";
import { BOOTSTRAP_FD, BOOTSTRAP_FD_ENV, type PluginBootstrap, PROTOCOL_VERSION } from "@neko/protocol";
import { pluginProcessEnv } from "./inspection-sandbox.ts";
import type { LaunchRequest } from "./plugin-launcher.ts";

/** The child's environment: the host's, less what the plugin must not see, plus the plugin's identity. */
export function pluginLaunchEnv(request: LaunchRequest): NodeJS.ProcessEnv {
  return {
    // The server's API token is the host's secret, not the plugin's.
    ...pluginProcessEnv(process.env),
    NEKO_PLUGIN_ID: request.pluginId,
    NEKO_PLUGIN_DIR: request.pluginDir,
    NEKO_PLUGIN_ENTRY: `${request.entryModule}::${request.className}`,
    [BOOTSTRAP_FD_ENV]: String(BOOTSTRAP_FD),
  };
}

/** The bootstrap document; serialized before the spawn, so a context that cannot be written fails with nothing started. */
export function bootstrapDocument(request: LaunchRequest): string {
  const bootstrap: PluginBootstrap = {
    protocol: PROTOCOL_VERSION,
    pluginId: request.pluginId,
    secret: request.secret,
    connection: request.connection,
    context: request.context,
  };
  return JSON.stringify(bootstrap);
}

/** Writes the document on the child's bootstrap socket and closes it. */
export function sendBootstrap(child: ChildProcess, document: string): void {
  const channel = child.stdio[BOOTSTRAP_FD];
  if (channel && "end" in channel) {
    // A child that exits before it reads (a crash, a failed spawn) leaves the write to fail: that is its exit's news.
    channel.on("error", () => undefined);
    channel.end(document);
  }
}
