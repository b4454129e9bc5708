/**
 * The plugin the manager page's browser test drives: one entry with every kind of form control, entries that act
 * (log, push a message, report progress, crash), and a config schema for the generated config form.
 */

export const shopPluginCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, lifecycle, Ok, type EntryContext } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class ShopPlugin extends NekoPluginBase {
  static override configSchema = {
    type: "object",
    properties: {
      shop: {
        type: "object",
        additionalProperties: false,
        properties: {
          max_items: { type: "integer", minimum: 1, maximum: 100, default: 10, description: "Most items in one order" },
          currency: { enum: ["EUR", "JPY", "USD"], default: "EUR" },
          open: { type: "boolean", default: true, description: "Take orders" },
        },
      },
    },
  };

  @lifecycle({ id: "startup" })
  onStartup() {
    this.reportStatus({ orders: 0, mood: "open" });
  }

  @pluginEntry({
    id: "order",
    name: "Place an order",
    description: "Every kind of field the page generates",
    inputSchema: {
      type: "object",
      properties: {
        item: { type: "string", description: "What to order", minLength: 1 },
        quantity: { type: "integer", minimum: 1, maximum: 10, default: 1, description: "How many, 1 to 10" },
        express: { type: "boolean", description: "Ship it today" },
        size: { enum: ["small", "medium", "large"] },
        tags: { type: "array", items: { type: "string" } },
        address: {
          type: "object",
          properties: { street: { type: "string" }, city: { type: "string" } },
          required: ["city"],
        },
      },
      required: ["item", "size"],
      additionalProperties: false,
    },
  })
  order(args: { item: string; quantity: number; express?: boolean; size: string; tags?: string[] }) {
    const tags = (args.tags ?? []).join("+") || "none";
    return Ok({ summary: \`\${args.quantity} x \${args.size} \${args.item}, express=\${args.express === true}, tags=\${tags}\` });
  }

  @pluginEntry({ id: "slow", description: "Reports progress until it is canceled", timeout: 120 })
  async slow(_args: Record<string, never>, ctx: EntryContext) {
    for (let i = 1; i <= 1000; i++) {
      if (ctx.signal.aborted) return Ok({ stoppedAt: i });
      await this.runUpdate({ progress: Math.min(i * 5, 95), stage: "working", message: \`step \${i}\` });
      await new Promise((r) => setTimeout(r, 100));
    }
    return Ok({ done: true });
  }

  @pluginEntry({ id: "say", inputSchema: { type: "object", properties: { word: { type: "string" } }, required: ["word"] } })
  say({ word }: { word: string }) {
    this.logger.info(\`the page should see \${word}\`);
    return Ok({ said: word });
  }

  @pluginEntry({ id: "notify", inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] } })
  async notify({ text }: { text: string }) {
    const pushed = await this.pushMessage({ source: "shop", messageType: "text", description: "Note", priority: 6, content: text });
    this.bus.emit("shop.noted", { text });
    return pushed.ok ? Ok({ pushed: true }) : pushed;
  }

  @pluginEntry({ id: "crash", description: "Exits the process" })
  crash() {
    setTimeout(() => process.exit(3), 20);
    return Ok({ exiting: true });
  }
}
`;

export const shopManifest = `[plugin]
id = "shop"
name = "Shop"
version = "0.3.0"
entry = "index.ts:ShopPlugin"

[shop]
max_items = 10
currency = "EUR"
open = true
`;
