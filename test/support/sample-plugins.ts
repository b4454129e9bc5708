/** Plugin sources used by the end-to-end tests: they import only the SDK, like a user's plugin would. */

export const calcPluginCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, lifecycle, Ok, Err, SdkError, z } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class CalcPlugin extends NekoPluginBase {
  calls = 0;
  aborted = false;
  started = false;

  @lifecycle({ id: "startup" })
  onStartup() {
    this.started = true;
  }

  @pluginEntry({
    id: "add",
    description: "Add two numbers",
    inputSchema: {
      type: "object",
      properties: { a: { type: "number" }, b: { type: "number", default: 0 } },
      required: ["a"],
    },
    llmResultFields: ["sum"],
  })
  add({ a, b }: { a: number; b: number }) {
    this.calls += 1;
    return Ok({ sum: a + b });
  }

  @pluginEntry({ id: "mul", params: z.object({ x: z.number(), y: z.number().default(2) }) })
  mul({ x, y }: { x: number; y: number }) {
    this.calls += 1;
    return { product: x * y };
  }

  @pluginEntry({
    id: "unchecked",
    inputSchema: { type: "object", properties: { n: { type: "integer" } } },
    modelValidate: false,
  })
  unchecked(args: Record<string, unknown>) {
    return { got: args };
  }

  @pluginEntry({ id: "stats" })
  stats() {
    return Ok({ calls: this.calls, aborted: this.aborted, started: this.started, pid: process.pid });
  }

  @pluginEntry({ id: "sleep", timeout: 0.5 })
  async sleep({ ms = 5000 }: { ms?: number }, ctx: { signal: AbortSignal }) {
    ctx.signal.addEventListener("abort", () => { this.aborted = true; });
    await new Promise((resolve) => setTimeout(resolve, ms));
    return Ok({ slept: ms });
  }

  @pluginEntry({ id: "boom" })
  boom() {
    throw new Error("kaboom");
  }

  @pluginEntry({ id: "refuse" })
  refuse() {
    return Err(new SdkError("not today", { code: "NOT_TODAY", details: { retry: false } }));
  }
}
`;

export const crashyPluginCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class CrashyPlugin extends NekoPluginBase {
  @pluginEntry({ id: "exit" })
  async exit() {
    setTimeout(() => process.exit(1), 50);
    await new Promise(() => {});
  }

  @pluginEntry({ id: "ping" })
  ping() {
    return Ok("pong");
  }
}
`;

export function simplePluginCode(className: string, entryId = "ping", decorated = true): string {
  return `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

${decorated ? "@nekoPlugin" : ""}
export class ${className} extends NekoPluginBase {
  @pluginEntry({ id: "${entryId}" })
  run() {
    return Ok({ from: this.pluginId });
  }
}
`;
}
