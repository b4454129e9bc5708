// The stand-in for Zod's `z` that loads Zod on first use (lazy-zod.mjs), typed as Zod's own `z`: its types, its
// namespace (`z.infer<…>`, `z.ZodType`) and its functions.
export { z } from "zod";
/** Whether Zod has been loaded through `z`. */
export function isZodLoaded(): boolean;
