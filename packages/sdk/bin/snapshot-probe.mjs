// Run from a freshly made startup snapshot (plugin-snapshot.mjs): says whether the SDK's runtime is in it.
const runtime = /** @type {Record<symbol, { start?: unknown } | undefined>} */ (globalThis)[
  Symbol.for("neko-plugin.snapshot")
];
process.stdout.write(typeof runtime?.start === "function" ? "ok" : "no runtime");
