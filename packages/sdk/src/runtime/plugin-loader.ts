/** Loads a plugin's class from its module and checks it is a decorated `NekoPluginBase` subclass. */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ErrorCode } from "@neko/protocol";
import { permissionDenied, SdkError } from "../errors.ts";
import { NekoPluginBase } from "../plugin-base.ts";
import { collectPluginMetadata } from "../plugin-metadata.ts";

export type PluginClass = new () => NekoPluginBase;

/** Its `details`, when the permission model refused something: what, and which key of plugin.toml grants it. */
export class PluginLoadError extends SdkError {
  static override readonly defaultCode: string = ErrorCode.PluginLoadFailed;
}

export async function loadPluginClass(modulePath: string, className: string): Promise<PluginClass> {
  const file = path.basename(modulePath);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
  } catch (error) {
    const denied = permissionDenied(error);
    const reason = (denied ?? (error as Error))?.message ?? String(error);
    throw new PluginLoadError(`importing ${file} failed: ${reason}`, denied && { details: denied.details });
  }
  const cls = mod[className];
  if (cls === undefined) {
    const exported = Object.keys(mod).filter((k) => typeof mod[k] === "function");
    const hint = exported.length ? ` (it exports: ${exported.join(", ")})` : "";
    throw new PluginLoadError(`${file} does not export a class named '${className}'${hint}`);
  }
  if (typeof cls !== "function") throw new PluginLoadError(`'${className}' in ${file} is not a class`);
  if (!(cls.prototype instanceof NekoPluginBase)) {
    throw new PluginLoadError(`'${className}' in ${file} does not extend NekoPluginBase`);
  }
  if (!collectPluginMetadata(cls as PluginClass).marked) {
    throw new PluginLoadError(`'${className}' in ${file} is not decorated with @nekoPlugin`);
  }
  return cls as PluginClass;
}
