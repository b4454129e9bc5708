/** The stand-in for Zod's `z` (lazy-zod.mjs): nothing loaded until its first use, then the one Zod `import` gives. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { isZodLoaded, z } from "../src/lazy-zod.mjs";

test("Zod is loaded by the first read of z, and z is Zod's z, types and all", () => {
  assert.equal(isZodLoaded(), false);
  const schema = z.object({ n: z.number() });
  assert.equal(isZodLoaded(), true);
  assert.deepEqual(schema.parse({ n: 1 }), { n: 1 });
  const parsed: z.infer<typeof schema> = { n: 2 };
  assert.equal(schema.safeParse(parsed).success, true);
  assert.equal(schema.safeParse({ n: "x" }).success, false);
  assert.ok("object" in z);
  assert.ok(Object.keys(z).includes("string"));
  assert.throws(() => {
    (z as unknown as Record<string, unknown>).object = null;
  }, TypeError);
});

test("in a plugin process (plain Node, no loader that compiles ES modules to CommonJS) it is the Zod import gives", () => {
  const script = `
    import { z, isZodLoaded } from ${JSON.stringify(new URL("../src/lazy-zod.mjs", import.meta.url).href)};
    const before = isZodLoaded();
    const object = z.object;
    const zod = await import("zod");
    process.stdout.write(JSON.stringify({ before, same: object === zod.z.object }));
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: new URL("..", import.meta.url),
    encoding: "utf8",
  });
  assert.deepEqual(JSON.parse(out), { before: false, same: true });
});
