// Zod, loaded on its first use: `z` here is a stand-in whose first property read loads Zod (the ES module build,
// the one `import "zod"` gives, so the process holds one Zod whoever loads it first) and forwards to its `z`. A plugin
// process that declares no schema and checks no message never loads Zod's ~100 modules (about 13 MiB; see
// docs/benchmarks.md). Its declaration file types it as Zod's own `z`.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);

/** @type {typeof import("zod").z | undefined} */
let loaded;

/** @returns {typeof import("zod").z} */
function zod() {
  if (loaded === undefined) {
    const manifest = require.resolve("zod/package.json");
    const entry = require(manifest).exports?.["."]?.import;
    // `require` of an ES module (Node ≥ 20.19) shares Node's module map with `import`.
    /** @type {typeof import("zod")} */
    const module = typeof entry === "string" ? require(path.join(path.dirname(manifest), entry)) : require("zod");
    loaded = module.z;
  }
  return loaded;
}

/** Whether Zod has been loaded through `z` (tests check that a plugin that needs no Zod never loads it). */
export function isZodLoaded() {
  return loaded !== undefined;
}

/** @type {ProxyHandler<object>} */
const forward = {
  get: (_, key) => Reflect.get(zod(), key),
  has: (_, key) => Reflect.has(zod(), key),
  ownKeys: () => Reflect.ownKeys(zod()),
  getOwnPropertyDescriptor: (_, key) => {
    const descriptor = Reflect.getOwnPropertyDescriptor(zod(), key);
    // A namespace's properties are not configurable; the stand-in's target does not have them.
    return descriptor && { ...descriptor, configurable: true };
  },
  set: () => false,
  defineProperty: () => false,
  deleteProperty: () => false,
};

export const z = /** @type {typeof import("zod").z} */ (new Proxy({}, forward));
