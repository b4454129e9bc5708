// Module resolution hook for plugin processes.
// - A plugin anywhere on disk imports `@neko/plugin-sdk/*` without installing it: the specifier is resolved from
//   the SDK's own folder (package self-reference through `exports`).
// - A plugin folder needs no package.json: its sources are ES modules, whatever the folder around it says.
const SDK = "@neko/plugin-sdk";
const selfUrl = import.meta.url;
const SOURCE = /\.(ts|mts|js|mjs)$/;
let pluginDirUrl = "";

export function initialize(data) {
  pluginDirUrl = data?.pluginDirUrl ?? "";
}

export async function resolve(specifier, context, nextResolve) {
  if (specifier === SDK || specifier.startsWith(`${SDK}/`)) {
    return nextResolve(specifier, { ...context, parentURL: selfUrl });
  }
  const resolved = await nextResolve(specifier, context);
  if (
    pluginDirUrl &&
    resolved.url.startsWith(pluginDirUrl) &&
    !resolved.url.includes("/node_modules/") &&
    SOURCE.test(new URL(resolved.url).pathname)
  ) {
    return { ...resolved, format: "module" };
  }
  return resolved;
}
