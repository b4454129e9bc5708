/**
 * What `neko-plugin check` learns of a plugin's module without starting it (bin/plugin-inspector.mjs runs this in a
 * child process of its own): the module imports as the runtime imports it, the manifest's class is exported, extends
 * the right base and is decorated, and every entry, event, timer and hook it declares passes the checks the runtime
 * applies when it takes them in (ids, timeouts, each schema — the configSchema too — compiled by Ajv or converted
 * from Zod). No instance is made and no lifecycle runs, so nothing of the plugin's (data/, connections) is touched.
 */
import path from "node:path";
import { describeConfigSchema } from "../config-schema.ts";
import { compileArgsValidator, describeArgsSchema } from "../entry-validator.ts";
import { NekoExtensionBase } from "../extension-base.ts";
import { NekoPluginBase } from "../plugin-base.ts";
import {
  boundMethod,
  type ClassPluginMetadata,
  collectPluginMetadata,
  entryIdDeclaredTwiceInChain,
} from "../plugin-metadata.ts";
import { assertSeconds } from "../seconds-limit.ts";
import { EntryRegistry } from "./entry-registry.ts";
import { extensionDeclarationProblem } from "./extension-mounts.ts";
import { HookPipeline } from "./hook-pipeline.ts";
import { decoratedClassOf, importPluginModule, PluginLoadError } from "./plugin-loader.ts";

export type InspectionLevel = "ok" | "warn" | "fail";

/** One finding, in the shape `neko-plugin check` prints (its CheckItem). */
export interface InspectionItem {
  level: InspectionLevel;
  check: "load" | "class" | "entries" | "schemas";
  message: string;
  fix?: string;
  file?: string;
  line?: number;
  column?: number;
}

export interface InspectionRequest {
  /** Absolute path of the entry module. */
  modulePath: string;
  className: string;
  type: "plugin" | "extension" | "adapter";
  /** An extension's `[plugin.host].prefix`: its entries are served under `<prefix><id>`. */
  prefix?: string;
  /** `[[plugin.entries]]` of the manifest: what `/plugins` shows while the plugin is stopped. */
  manifestEntries?: Array<{ id: string; inputSchema?: Record<string, unknown> }>;
}

type AnyClass = abstract new (...args: never[]) => unknown;

const KINDS = {
  plugin: { base: NekoPluginBase, decorator: "@nekoPlugin", sdk: "@neko/plugin-sdk/plugin" },
  adapter: { base: NekoPluginBase, decorator: "@nekoPlugin", sdk: "@neko/plugin-sdk/adapter" },
  extension: { base: NekoExtensionBase, decorator: "@extension", sdk: "@neko/plugin-sdk/extension" },
} as const;

/** Every finding about the module, in check order; a failed step ends the list (later ones need its result). */
export async function inspectPluginModule(request: InspectionRequest): Promise<InspectionItem[]> {
  const file = path.basename(request.modulePath);
  let mod: Record<string, unknown>;
  try {
    mod = await importPluginModule(request.modulePath);
  } catch (error) {
    return [loadFailure(error, request.modulePath)];
  }
  const items: InspectionItem[] = [{ level: "ok", check: "load", message: `${file} imports without an error` }];

  const kind = KINDS[request.type];
  let cls: AnyClass;
  try {
    cls = decoratedClassOf(mod, { file, className: request.className, kind });
  } catch (error) {
    items.push(classFailure(error, { file, className: request.className, kind }));
    return items;
  }
  items.push(...(await classFindings(cls, request, kind.base.name)));
  items.push(...declarationFindings(cls, request));
  return items;
}

const SYNTAX_ERROR = /Transform failed with \d+ errors?:\n(.+?):(\d+):(\d+): ERROR: ([^\n]*)/;

function loadFailure(error: unknown, modulePath: string): InspectionItem {
  const file = path.basename(modulePath);
  const message = (error as Error)?.message ?? String(error);
  // esbuild's syntax error names the absolute file and a 0-based column; shown as the editor and tsc count.
  const syntax = SYNTAX_ERROR.exec(message);
  if (syntax) {
    const where = { file: path.relative(path.dirname(modulePath), syntax[1]), line: Number(syntax[2]) };
    const at = `${where.file}:${where.line}:${Number(syntax[3]) + 1}`;
    return {
      level: "fail",
      check: "load",
      message: `${at} syntax error: ${syntax[4].replace(/\s*\(at [^)]*\)$/, "")}`,
      fix: `fix the syntax at ${at}`,
      ...where,
      column: Number(syntax[3]) + 1,
    };
  }
  // importPluginModule ends its message with where in the plugin's folder the error was thrown.
  const at = /\(at (.+):(\d+):(\d+)\)$/.exec(message);
  const problem = (error as { details?: { problem?: unknown } } | null)?.details?.problem;
  if (problem === "syntax_error" && at) {
    const where = `${at[1]}:${at[2]}:${at[3]}`;
    const text = message.replace(/^importing .+? failed: /, "").replace(/\s*\(at [^)]*\)$/, "");
    return {
      level: "fail",
      check: "load",
      message: `${where} syntax error: ${text}`,
      fix: `fix the syntax at ${where}`,
      file: at[1],
      line: Number(at[2]),
      column: Number(at[3]),
    };
  }
  const where = at ? { file: at[1], line: Number(at[2]), column: Number(at[3]) } : {};
  const notFound = /Cannot find (module|package)/.test(message);
  const fix = at
    ? `fix the code at ${at[1]}:${at[2]}:${at[3]}: it runs when the module is imported`
    : notFound
      ? "fix the import path, or install the package in the plugin's folder"
      : `fix ${file} so that it imports without an error`;
  return { level: "fail", check: "load", message, fix, ...where };
}

function classFailure(
  error: unknown,
  options: { file: string; className: string; kind: (typeof KINDS)[keyof typeof KINDS] },
): InspectionItem {
  const { file, className, kind } = options;
  const message = (error as Error)?.message ?? String(error);
  const details = error instanceof PluginLoadError ? (error.details as { problem?: string } | undefined) : undefined;
  const base = kind.base.name;
  const fixes: Record<string, string> = {
    not_exported: `export the class: \`export class ${className} extends ${base}\`, or name an exported class in [plugin].entry`,
    not_a_class: `make '${className}' a class: \`export class ${className} extends ${base}\``,
    wrong_base: `declare it as \`class ${className} extends ${base}\` (import ${base} from "${kind.sdk}")`,
    not_decorated: `add \`${kind.decorator}\` above the class`,
  };
  const fix = fixes[details?.problem ?? ""];
  return { level: "fail", check: "class", message, file, ...(fix !== undefined && { fix }) };
}

async function classFindings(cls: AnyClass, request: InspectionRequest, base: string): Promise<InspectionItem[]> {
  const items: InspectionItem[] = [
    { level: "ok", check: "class", message: `${request.className} extends ${base} and is decorated` },
  ];
  if (request.type === "adapter") {
    const { NekoAdapterPlugin } = await import("../adapter/neko-adapter-plugin.ts");
    if (!(cls.prototype instanceof NekoAdapterPlugin)) {
      items.push({
        level: "warn",
        check: "class",
        message: `${request.className} is an adapter (type = "adapter") but does not extend NekoAdapterPlugin`,
        fix: `declare it as \`class ${request.className} extends NekoAdapterPlugin\` (from "@neko/plugin-sdk/adapter")`,
      });
    }
  }
  return items;
}

/** The class's entries, events, timers and hooks, each checked as the runtime checks it when it takes it in. */
function declarationFindings(cls: AnyClass, request: InspectionRequest): InspectionItem[] {
  const meta = collectPluginMetadata(cls);
  const items: InspectionItem[] = [];
  const fail = (check: InspectionItem["check"], message: string, fix?: string) =>
    items.push({ level: "fail", check, message, ...(fix !== undefined && { fix }) });

  const twice = entryIdDeclaredTwiceInChain(cls);
  if (twice !== undefined) fail("entries", `entry id '${twice}' is declared twice`, "give each entry its own id");
  if (request.type === "extension") {
    const problem = extensionDeclarationProblem(cls as abstract new () => NekoExtensionBase, meta);
    if (problem !== undefined) fail("entries", problem);
  }

  let schemas = 0;
  const schemaOf = (what: string, declared: { inputSchema?: Record<string, unknown>; params?: unknown }) => {
    if (declared.inputSchema === undefined && declared.params === undefined) return true;
    try {
      describeArgsSchema(declared as Parameters<typeof describeArgsSchema>[0]);
      compileArgsValidator(declared as Parameters<typeof compileArgsValidator>[0]);
      schemas += 1;
      return true;
    } catch (error) {
      const field = declared.params !== undefined ? "params" : "inputSchema";
      fail("schemas", `${what}: its ${field} is not a valid schema: ${(error as Error).message}`, schemaFix(field));
      return false;
    }
  };

  // The plugin's configSchema, as the runtime converts it before the hello (docs/config.md).
  const configSchema = (cls as { configSchema?: unknown }).configSchema;
  if (configSchema !== undefined) {
    try {
      describeConfigSchema(configSchema);
      schemas += 1;
    } catch (error) {
      fail(
        "schemas",
        (error as Error).message,
        "make configSchema a Zod schema (z.object({ … })) or a JSON Schema object that Ajv compiles",
      );
    }
  }

  const registry = new EntryRegistry();
  const prefix = request.prefix ?? "";
  for (const { methodName, ...entry } of meta.entries) {
    if (!schemaOf(`entry '${entry.id}'`, entry)) continue;
    try {
      registry.add({ ...entry, id: `${prefix}${entry.id}` }, boundMethod(cls.prototype, methodName), {
        dynamic: false,
      });
    } catch (error) {
      fail("entries", (error as Error).message);
    }
  }
  for (const event of meta.events) schemaOf(`event '${event.eventType}:${event.id}'`, event);
  for (const timer of meta.timers) {
    try {
      assertSeconds(`timer '${timer.id}': seconds`, timer.seconds);
      boundMethod(cls.prototype, timer.methodName);
    } catch (error) {
      fail("entries", (error as Error).message);
    }
  }
  for (const hook of meta.hooks) {
    try {
      HookPipeline.record(hook, boundMethod(cls.prototype, hook.methodName), "plugin");
    } catch (error) {
      fail("entries", `hook '${hook.id}': ${(error as Error).message}`);
    }
  }

  for (const listed of request.manifestEntries ?? []) {
    schemaOf(`plugin.toml [[plugin.entries]] '${listed.id}'`, listed);
    // The class may still register it at run time (registerDynamicEntry): only a warning.
    if (!meta.entries.some((e) => e.id === listed.id || `${prefix}${e.id}` === listed.id)) {
      items.push({
        level: "warn",
        check: "entries",
        message: `plugin.toml lists entry '${listed.id}' in [[plugin.entries]], but the class declares none by that id`,
        fix: `add @pluginEntry({ id: "${listed.id}" }) to a method, or take it out of [[plugin.entries]]`,
        file: "plugin.toml",
      });
    }
  }

  if (!items.some((i) => i.check === "entries" && i.level === "fail")) {
    items.unshift({ level: "ok", check: "entries", message: declaredSummary(meta) });
  }
  if (!items.some((i) => i.check === "schemas")) {
    items.push({ level: "ok", check: "schemas", message: `${count(schemas, "schema")} compiled` });
  }
  return items;
}

function schemaFix(field: string): string {
  return field === "params"
    ? "make params a Zod schema (z.object({ … })) that converts to JSON Schema"
    : "fix the inputSchema: it must be a JSON Schema (draft 2020-12) object that Ajv compiles";
}

function declaredSummary(meta: ClassPluginMetadata): string {
  const ids = meta.entries.map((e) => e.id);
  const list = ids.length > 0 ? ` (${ids.join(", ")})` : "";
  const rest = [
    count(meta.hooks.length, "hook"),
    count(meta.timers.length, "timer"),
    count(meta.events.length, "event handler"),
    count(meta.messages.length, "message handler"),
  ];
  return `${count(ids.length, "entry", "entries")}${list}, ${rest.join(", ")}`;
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
