/**
 * Loads a plugin's class from its module and checks it is a decorated `NekoPluginBase` subclass; an extension's, a
 * decorated `NekoExtensionBase` subclass.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ErrorCode } from "@neko/protocol";
import { permissionDenied, SdkError } from "../errors.ts";
import { NekoExtensionBase } from "../extension-base.ts";
import { NekoPluginBase } from "../plugin-base.ts";
import { collectPluginMetadata } from "../plugin-metadata.ts";
import { sourceModuleUrl } from "./linked-modules.ts";
import { importModule } from "./module-import.ts";

export type PluginClass = new () => NekoPluginBase;

/** Its `details`, when the permission model refused something: what, and which key of plugin.toml grants it. */
export class PluginLoadError extends SdkError {
  static override readonly defaultCode: string = ErrorCode.PluginLoadFailed;
}

export function loadPluginClass(modulePath: string, className: string): Promise<PluginClass> {
  return loadDecoratedClass(modulePath, className, { base: NekoPluginBase, decorator: "@nekoPlugin" });
}

export type ExtensionClass = new () => NekoExtensionBase;

/**
 * The extension's module is imported under its modification time, so an extension fixed or changed on disk is loaded
 * afresh when it is enabled again (ES modules cannot be unloaded: an unchanged one is the same module).
 */
export function loadExtensionClass(modulePath: string, className: string): Promise<ExtensionClass> {
  let version = "";
  try {
    version = `?mtime=${fs.statSync(modulePath).mtimeMs}`;
  } catch {
    // A missing file: the import says so.
  }
  return loadDecoratedClass(modulePath, className, {
    base: NekoExtensionBase,
    decorator: "@extension",
    query: version,
  });
}

/** What a loaded class must be: a subclass of `base`, marked by `decorator`. */
export interface DecoratedClassKind {
  base: abstract new (...args: never[]) => unknown;
  decorator: string;
}

async function loadDecoratedClass<T>(
  modulePath: string,
  className: string,
  kind: DecoratedClassKind & { query?: string },
): Promise<new () => T> {
  const mod = await importPluginModule(modulePath, kind.query);
  return decoratedClassOf(mod, { file: path.basename(modulePath), className, kind }) as new () => T;
}

/**
 * Imports a plugin's (or an extension's) module; a failure is a `PluginLoadError` that says why and, when the error was
 * thrown inside the module's folder, where (`(at index.ts:3:7)`).
 */
export async function importPluginModule(modulePath: string, query = ""): Promise<Record<string, unknown>> {
  try {
    return (await importModule(sourceModuleUrl(modulePath) + query)) as Record<string, unknown>;
  } catch (error) {
    const denied = permissionDenied(error);
    const reason = (denied ?? (error as Error))?.message ?? String(error);
    const where = whereInFolder(error, path.dirname(modulePath));
    // A syntax error (V8's, or the compile cache's note of esbuild's) says so in `details.problem`.
    const syntax = (error as { name?: unknown } | null)?.name === "SyntaxError";
    throw new PluginLoadError(
      `importing ${path.basename(modulePath)} failed: ${reason}${where ? ` (at ${where})` : ""}`,
      denied ? { details: denied.details } : syntax ? { details: { problem: "syntax_error" } } : undefined,
    );
  }
}

/**
 * The class `className` of a loaded module, checked to extend `kind.base` and be decorated; a `PluginLoadError` if not,
 * whose `details.problem` says which check failed (`not_exported`, `not_a_class`, `wrong_base`, `not_decorated`).
 */
export function decoratedClassOf(
  mod: Record<string, unknown>,
  options: { file: string; className: string; kind: DecoratedClassKind },
): abstract new (
  ...args: never[]
) => unknown {
  const { file, className, kind } = options;
  const cls = mod[className];
  if (cls === undefined) {
    const exported = Object.keys(mod).filter((k) => typeof mod[k] === "function");
    const hint = exported.length ? ` (it exports: ${exported.join(", ")})` : "";
    throw new PluginLoadError(`${file} does not export a class named '${className}'${hint}`, {
      details: { problem: "not_exported", exported },
    });
  }
  if (typeof cls !== "function") {
    throw new PluginLoadError(`'${className}' in ${file} is not a class`, { details: { problem: "not_a_class" } });
  }
  if (!(cls.prototype instanceof kind.base)) {
    throw new PluginLoadError(`'${className}' in ${file} does not extend ${kind.base.name}`, {
      details: { problem: "wrong_base" },
    });
  }
  if (!collectPluginMetadata(cls as new () => unknown).marked) {
    throw new PluginLoadError(`'${className}' in ${file} is not decorated with ${kind.decorator}`, {
      details: { problem: "not_decorated" },
    });
  }
  return cls as abstract new (
    ...args: never[]
  ) => unknown;
}

/**
 * Where in the plugin's own folder an error was thrown, as `file:line:column` relative to it (plugin processes map
 * stacks to the TypeScript sources); undefined when no frame of the stack is there.
 */
export function whereInFolder(error: unknown, dir: string): string | undefined {
  const stack = (error as { stack?: unknown } | null)?.stack;
  if (typeof stack !== "string") return undefined;
  for (const match of stack.matchAll(/((?:file:\/\/)?\/[^\s()]+?):(\d+):(\d+)/g)) {
    const file = match[1].startsWith("file://") ? fileURLToPath(match[1].replace(/\?.*$/, "")) : match[1];
    const relative = path.relative(dir, file);
    if (relative && !relative.startsWith("..") && !path.isAbsolute(relative) && !relative.startsWith("node_modules")) {
      return `${relative}:${match[2]}:${match[3]}`;
    }
  }
  return undefined;
}
