// Node 20 has no Symbol.metadata; TC39 decorator metadata needs it, and esbuild falls back to the same registry symbol.
(Symbol as { metadata?: symbol }).metadata ??= Symbol.for("Symbol.metadata");
export {};
