/**
 * `PluginRouter`: a class that groups entries and hooks (the same `@pluginEntry` and hook decorators as a plugin
 * class) so a plugin can mount them with `this.includeRouter(router, { prefix })` (SPEC §3.4, docs/routers.md).
 */
import "./symbol-metadata.ts";
import type { NekoPluginBase } from "./plugin-base.ts";
import type { RouterInfo } from "./runtime/router-mounts.ts";

/** Which plugin a router belongs to; set by `includeRouter` (runtime/router-mounts.ts), never by plugin code. */
export interface RouterBinding {
  plugin: NekoPluginBase;
  prefix: string;
  /** False once `excludeRouter` took its entries out; `plugin` stays set so calls still running can finish. */
  mounted: boolean;
}

const bindings = new WeakMap<PluginRouter<NekoPluginBase>, RouterBinding>();

export abstract class PluginRouter<P extends NekoPluginBase = NekoPluginBase> {
  /** The plugin this router was included into. Read before `includeRouter` (in the router's constructor), it throws. */
  get plugin(): P {
    const binding = bindings.get(this);
    if (!binding) {
      throw new Error(
        `router ${this.constructor.name} is not included in a plugin yet: this.plugin is there once the plugin ` +
          "has called this.includeRouter(router)",
      );
    }
    return binding.plugin as P;
  }

  /** A sibling: the router named `name` included in the same plugin (`this.plugin.getRouter(name)`). */
  getRouter<R extends PluginRouter = PluginRouter>(name: string): R | undefined {
    return this.plugin.getRouter<R>(name);
  }

  /** The routers included in the same plugin, this one among them (`this.plugin.listRouters()`). */
  listRouters(): RouterInfo[] {
    return this.plugin.listRouters();
  }
}

export function routerBinding(router: PluginRouter<NekoPluginBase>): RouterBinding | undefined {
  return bindings.get(router);
}

export function bindRouter(router: PluginRouter<NekoPluginBase>, binding: RouterBinding | undefined): void {
  if (binding) bindings.set(router, binding);
  else bindings.delete(router);
}
