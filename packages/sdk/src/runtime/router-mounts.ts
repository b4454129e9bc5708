/**
 * The routers included in one plugin (`includeRouter` / `excludeRouter`, SPEC §3.4): turns a router's decorated
 * methods into entries (`<prefix><id>`) and hooks of the plugin, all of them or none, and takes them out again.
 */
import type { EntryDescriptor } from "@neko/protocol";
import { ValidationError } from "../errors.ts";
import type { NekoPluginBase } from "../plugin-base.ts";
import {
  type ClassPluginMetadata,
  collectPluginMetadata,
  boundMethod,
  entryIdDeclaredTwiceInChain,
} from "../plugin-metadata.ts";
import { bindRouter, PluginRouter, routerBinding } from "../plugin-router.ts";
import { Err, Ok, type Result } from "../result.ts";
import type { EntryRegistration } from "./entry-registry.ts";
import { HookPipeline, type HookRecord } from "./hook-pipeline.ts";

/** Characters an entry id may hold; the prefix is put verbatim in front of each router entry id. */
const PREFIX = /^[a-zA-Z0-9_.:-]*$/;

/** What a router may declare besides entries and hooks, and is refused (it belongs on the plugin class). */
const PLUGIN_ONLY: Array<[keyof ClassPluginMetadata, string]> = [
  ["lifecycles", "@lifecycle"],
  ["timers", "@timerInterval"],
  ["messages", "@message"],
  ["events", "@onEvent/@customEvent"],
];

/** One included router, as `listRouters()` describes it. */
export interface RouterInfo {
  /** The name given to `includeRouter`, or the router's class name. */
  name: string;
  prefix: string;
  /** The entry ids it added (prefixed). */
  entries: string[];
}

export class RouterMounts {
  /** Each included router, in the order they were included, with what it added and the way to take its hooks out. */
  private readonly mounted = new Map<PluginRouter, RouterInfo & { removeHooks: () => void }>();

  constructor(private readonly plugin: NekoPluginBase) {}

  include(
    router: PluginRouter,
    options: { prefix?: string; name?: string },
  ): Result<EntryDescriptor[], ValidationError> {
    if (!(router instanceof PluginRouter)) {
      const got = typeof router === "function" ? "a class (did you forget `new`?)" : describe(router);
      return refuse(`includeRouter: expected an instance of a PluginRouter subclass (got ${got})`);
    }
    const name = router.constructor.name;
    const prefix = options.prefix ?? "";
    const given = options.name;
    if (given !== undefined && (typeof given !== "string" || given === "")) {
      return refuse(`includeRouter(${name}): name must be a non-empty string (got ${describe(given)})`);
    }
    if (given !== undefined && this.get(given)) {
      return refuse(`includeRouter(${name}): a router named '${given}' is already included`);
    }
    if (typeof prefix !== "string" || !PREFIX.test(prefix)) {
      return refuse(`includeRouter(${name}): prefix must be a string of ${PREFIX.source} (got ${describe(prefix)})`);
    }
    const binding = routerBinding(router);
    if (binding?.mounted) {
      const where = binding.plugin === this.plugin ? "this plugin" : `plugin '${binding.plugin.pluginId}'`;
      return refuse(`includeRouter(${name}): this router is already included in ${where} (prefix '${binding.prefix}')`);
    }
    const cls = router.constructor as abstract new () => PluginRouter;
    const meta = collectPluginMetadata(cls);
    const problem = declarationProblem(cls, meta);
    if (problem) return refuse(`includeRouter(${name}): ${problem}`);

    const bind = (methodName: string | symbol) => boundMethod(router, methodName, "the router");
    let registrations: EntryRegistration[];
    let hooks: HookRecord[];
    try {
      registrations = meta.entries.map(({ methodName, ...entry }) => ({
        options: { ...entry, id: `${prefix}${entry.id}` },
        handler: bind(methodName),
      }));
      // A router hook targets the router's own entries: "*" each of them, an id the one with that id (prefixed).
      const ownIds = meta.entries.map((e) => e.id);
      hooks = meta.hooks.flatMap((h) =>
        (h.target === "*" ? ownIds : [h.target]).map((target) =>
          HookPipeline.record({ ...h, target: `${prefix}${target}` }, bind(h.methodName), `router:${name}`),
        ),
      );
    } catch (error) {
      return refuse(`includeRouter(${name}): ${(error as Error).message}`);
    }
    const clash = this.firstTaken(registrations.map((r) => r.options.id));
    if (clash) {
      return refuse(`includeRouter(${name}): entry id '${clash.id}' is already taken by ${clash.owner}`, {
        entryId: clash.id,
      });
    }

    bindRouter(router, { plugin: this.plugin, prefix, mounted: true });
    let descriptors: EntryDescriptor[];
    try {
      descriptors = this.plugin.ctx.entries.addAll(registrations, { dynamic: false, router: name });
    } catch (error) {
      bindRouter(router, binding);
      return refuse(`includeRouter(${name}): ${(error as Error).message}`);
    }
    const removeHooks = this.plugin.ctx.hooks.add(hooks);
    this.mounted.set(router, { name: given ?? name, prefix, entries: descriptors.map((d) => d.id), removeHooks });
    return Ok(descriptors);
  }

  /** The included router with that name (the first one, when routers of one class are included unnamed). */
  get(name: string): PluginRouter | undefined {
    for (const [router, mount] of this.mounted) if (mount.name === name) return router;
    return undefined;
  }

  list(): RouterInfo[] {
    return [...this.mounted.values()].map(({ name, prefix, entries }) => ({ name, prefix, entries: [...entries] }));
  }

  /** The first of `ids` held by an entry of the plugin, counting its decorated ones not registered yet. */
  private firstTaken(ids: string[]): { id: string; owner: string } | undefined {
    // The runtime registers the class's entries after the plugin's constructor, where routers are often included.
    const cls = this.plugin.constructor as abstract new () => unknown;
    const declared = new Set(collectPluginMetadata(cls).entries.map((e) => e.id));
    for (const id of ids) {
      const owner = this.plugin.ctx.entries.takenBy(id) ?? (declared.has(id) ? "a @pluginEntry method" : undefined);
      if (owner) return { id, owner };
    }
    return undefined;
  }

  /** Takes out a router's entries and hooks; false when it is not included in this plugin. */
  exclude(router: PluginRouter): boolean {
    const mount = this.mounted.get(router);
    if (!mount) return false;
    this.mounted.delete(router);
    this.plugin.ctx.entries.removeAll(mount.entries);
    mount.removeHooks();
    const binding = routerBinding(router);
    if (binding) bindRouter(router, { ...binding, mounted: false });
    return true;
  }
}

/** What makes a router class unusable, in words; undefined when it is fine. */
function declarationProblem(cls: abstract new () => PluginRouter, meta: ClassPluginMetadata): string | undefined {
  const twice = entryIdDeclaredTwiceInChain(cls);
  if (twice !== undefined) return `entry id '${twice}' is declared twice`;
  for (const [list, decorator] of PLUGIN_ONLY) {
    const found = meta[list] as Array<{ id: string }>;
    if (found.length > 0) {
      return `a router holds entries and hooks only; put ${decorator} '${found[0].id}' on the plugin class`;
    }
  }
  if (meta.entries.length === 0) return "it declares no @pluginEntry method";
  const ownIds = new Set(meta.entries.map((e) => e.id));
  const stray = meta.hooks.find((h) => h.target !== "*" && !ownIds.has(h.target));
  if (stray) {
    return (
      `hook '${stray.id}' targets '${stray.target}', which is not one of the router's entries ` +
      `(${[...ownIds].join(", ")}); a router's hooks apply to its own entries`
    );
  }
  return undefined;
}

function refuse(message: string, details?: Record<string, unknown>) {
  return Err(new ValidationError(message, details === undefined ? {} : { details }));
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return `'${value}'`;
  if (typeof value === "object") return `an instance of ${value.constructor?.name ?? "Object"}`;
  return typeof value;
}
