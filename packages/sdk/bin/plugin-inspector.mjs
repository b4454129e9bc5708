// `neko-plugin check` runs this in a child process: it loads a plugin's module as a plugin process would (the same
// module hooks as plugin-runner.mjs), without starting it, and writes what src/runtime/plugin-inspect.ts found as one
// JSON line on file descriptor 3, so what the plugin's code prints on stdout or stderr cannot be taken for it.
// Usage: node plugin-inspector.mjs '<the plugin folder>' < '<InspectionRequest as JSON>'
// The request comes on stdin, not in argv: a manifest's schemas can pass argv's size limit (E2BIG).
import { readFileSync, writeSync } from "node:fs";
import { register } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

process.setSourceMapsEnabled(true);
const request = JSON.parse(readFileSync(0, "utf8") || "{}");
const pluginDir = path.resolve(process.argv[2] ?? path.dirname(request.modulePath ?? "."));
register("./plugin-loader-hooks.mjs", import.meta.url, {
  data: { sourceDirUrls: [`${pathToFileURL(pluginDir).href}/`] },
});
const { inspectPluginModule } = await import("../src/runtime/plugin-inspect.ts");
const items = await inspectPluginModule(request);
writeSync(3, `${JSON.stringify({ items })}\n`);
// The module may have left timers or sockets open at import: they are not waited for.
process.exit(0);
