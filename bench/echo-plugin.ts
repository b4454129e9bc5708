/** The plugin the bench calls: one `echo` entry that returns its args, written into a temp folder like a user's. */
import { writePlugin } from "../test/support/plugin-fixtures.ts";
import { ECHO_ENTRY_ID } from "./bench-payload.ts";

const echoPluginCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class EchoPlugin extends NekoPluginBase {
  @pluginEntry({ id: "${ECHO_ENTRY_ID}" })
  echo(args: Record<string, unknown>) {
    return Ok(args);
  }
}
`;

/** Writes `<root>/<id>/` with a manifest and the echo plugin; returns the plugin folder. */
export function writeEchoPlugin(root: string, id: string, transport?: "zmq" | "pipe"): string {
  const runtime = transport === undefined ? "" : `[plugin_runtime]\ntransport = "${transport}"\n`;
  const manifest = `[plugin]\nid = "${id}"\nentry = "index.ts:EchoPlugin"\n${runtime}`;
  return writePlugin(root, { id, className: "EchoPlugin", code: echoPluginCode, manifest });
}
