/**
 * The code `neko-plugin init` writes for each paradigm (docs/paradigms.md): `index.ts` with one entry whose
 * arguments are a Zod `params` schema, and `index.test.ts`, which runs it through `@neko/plugin-sdk/testing`.
 * Each template is the smallest thing that works and shows the paradigm's shape; the e2e test of init runs them all.
 */

export type PluginKind = "plugin" | "extension" | "adapter";

export interface CodeTemplateInput {
  id: string;
  className: string;
  /** An extension's host plugin, and the prefix of its entries there. */
  hostPluginId: string;
  prefix: string;
}

export interface CodeTemplate {
  /** The entry the README and the test call, and what it answers for `sampleArgs`. */
  entryId: string;
  sampleArgs: Record<string, unknown>;
  sampleValue: unknown;
  index(input: CodeTemplateInput): string;
  test(input: CodeTemplateInput): string;
  /** Manifest tables after `[plugin]` (and `[plugin.host]`). */
  manifestTables(input: CodeTemplateInput): string;
}

const testHeader = `import assert from "node:assert/strict";
import { test } from "node:test";
import { startTestPlugin } from "@neko/plugin-sdk/testing";
`;

const plugin: CodeTemplate = {
  entryId: "greet",
  sampleArgs: { name: "Neko" },
  sampleValue: { message: "Hello, Neko!" },
  index: ({
    className,
  }) => `import { lifecycle, NekoPluginBase, nekoPlugin, Ok, pluginEntry, z } from "@neko/plugin-sdk/plugin";

/** The arguments of \`greet\`: checked before it runs (a bad call gets VALIDATION_ERROR naming the field). */
const greetParams = z.object({
  name: z.string().min(1).max(200).default("World"),
  excited: z.boolean().default(true),
});

@nekoPlugin
export class ${className} extends NekoPluginBase {
  @lifecycle({ id: "startup" })
  startup() {
    this.logger.info("started");
    return Ok({ status: "ready" });
  }

  @pluginEntry({
    id: "greet",
    description: "Greet someone by name",
    params: greetParams,
    llmResultFields: ["message"],
  })
  greet({ name, excited }: z.infer<typeof greetParams>) {
    // [greeting] in plugin.toml is this plugin's own configuration.
    const word = this.config.get<string>("greeting.word", "Hello");
    return Ok({ message: \`\${word}, \${name}\${excited ? "!" : "."}\` });
  }
}
`,
  test: () => `${testHeader}
test("greet answers with the name it is given", async () => {
  await using plugin = await startTestPlugin(import.meta.dirname);
  assert.deepEqual(await plugin.call("greet", { name: "Neko" }), { ok: true, value: { message: "Hello, Neko!" } });
  assert.deepEqual(await plugin.call("greet", { excited: false }), { ok: true, value: { message: "Hello, World." } });
});

test("greet refuses an empty name before it runs", async () => {
  await using plugin = await startTestPlugin(import.meta.dirname);
  const answer = await plugin.call("greet", { name: "" });
  assert.equal(answer.ok ? "ok" : answer.error.code, "VALIDATION_ERROR");
});

test("the configuration can be set for a test", async () => {
  await using plugin = await startTestPlugin(import.meta.dirname, { config: { greeting: { word: "Hi" } } });
  assert.deepEqual(await plugin.call("greet", { name: "Neko" }), { ok: true, value: { message: "Hi, Neko!" } });
});
`,
  manifestTables: () => `
# The plugin's own configuration: this.config.get("greeting.word") reads it.
[greeting]
word = "Hello"
`,
};

const extension: CodeTemplate = {
  entryId: "count_words",
  sampleArgs: { text: "one two  three" },
  sampleValue: { words: 3 },
  index: ({
    className,
    hostPluginId,
  }) => `import { extension, extensionEntry, NekoExtensionBase, Ok, z } from "@neko/plugin-sdk/extension";

const countWordsParams = z.object({ text: z.string().max(10_000) });

/** Loaded into ${hostPluginId}'s process: its entries appear there with this extension's prefix. */
@extension
export class ${className} extends NekoExtensionBase {
  @extensionEntry({
    id: "count_words",
    description: "Count the words of a text",
    params: countWordsParams,
  })
  countWords({ text }: z.infer<typeof countWordsParams>) {
    const words = text.split(/\\s+/).filter((word) => word !== "").length;
    return Ok({ words });
  }
}
`,
  test: ({ hostPluginId }) => `${testHeader}
// The extension runs inside ${hostPluginId}: startTestPlugin starts that plugin too, from a folder named
// ${hostPluginId} beside this one or from the framework's own plugins (or pass { hostPluginDir }).
test("count_words counts the words of a text", async () => {
  await using plugin = await startTestPlugin(import.meta.dirname);
  assert.deepEqual(await plugin.call("count_words", { text: "one two  three" }), { ok: true, value: { words: 3 } });
  const answer = await plugin.call("count_words", {});
  assert.equal(answer.ok ? "ok" : answer.error.code, "VALIDATION_ERROR");
});
`,
  manifestTables: () => "",
};

const adapter: CodeTemplate = {
  entryId: "request",
  sampleArgs: { action: "ping" },
  sampleValue: { pong: true },
  index: ({ className, id }) => `import { AdapterGatewayCore, NekoAdapterPlugin } from "@neko/plugin-sdk/adapter";
import { Err, lifecycle, nekoPlugin, Ok, pluginEntry, SdkError, z } from "@neko/plugin-sdk/plugin";

/** One request of the outside protocol; a real adapter reads these from its own socket or a host channel. */
const requestParams = z.object({
  action: z.string().min(1).max(200),
  payload: z.record(z.string(), z.unknown()).default({}),
  client: z.string().min(1).max(200).default("local"),
});

@nekoPlugin
export class ${className} extends NekoAdapterPlugin {
  gateway!: AdapterGatewayCore;

  @lifecycle({ id: "startup" })
  startup() {
    // Every default stage (normalize, policy, route, invoke, serialize), configured from [adapter] in plugin.toml.
    this.gateway = AdapterGatewayCore.forPlugin(this);
    // An action the adapter answers itself; the others are routed to plugin entries by [[adapter.routes]].
    this.gateway.handle("ping", () => Ok({ pong: true }));
    return Ok({ mode: this.gateway.mode });
  }

  @lifecycle({ id: "shutdown" })
  shutdown() {
    this.gateway.dispose();
  }

  @pluginEntry({
    id: "request",
    description: "Run one request through the gateway pipeline",
    params: requestParams,
  })
  async request({ action, payload, client }: z.infer<typeof requestParams>, ctx: { signal: AbortSignal }) {
    const response = await this.gateway.process(
      { protocol: "${id}", connectionId: client, requestId: crypto.randomUUID(), action, payload },
      { signal: ctx.signal },
    );
    if (response.ok) return Ok(response.data);
    return Err(new SdkError(response.error.message, { code: response.error.code, details: response.error }));
  }
}
`,
  test: () => `${testHeader}
test("ping is answered by the adapter itself", async () => {
  await using plugin = await startTestPlugin(import.meta.dirname);
  assert.deepEqual(await plugin.call("request", { action: "ping" }), { ok: true, value: { pong: true } });
});

test("an action no route knows is refused with the gateway's code", async () => {
  await using plugin = await startTestPlugin(import.meta.dirname);
  const answer = await plugin.call("request", { action: "nowhere" });
  assert.equal(answer.ok ? "ok" : answer.error.code, "route_failed");
});
`,
  manifestTables: () => `
# The gateway pipeline (docs/adapters.md#configuration).
[adapter]
mode = "gateway"
timeout = 10

[adapter.policy]
rate_limit = { burst = 20, per_second = 5 }

# Route an action to a plugin entry, e.g. "greet" to hello_world:greet:
# [[adapter.routes]]
# action = "greet"
# plugin = "hello_world"
# entry = "greet"
`,
};

export const codeTemplates: Record<PluginKind, CodeTemplate> = { plugin, extension, adapter };
