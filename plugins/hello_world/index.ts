import { Err, lifecycle, NekoPluginBase, nekoPlugin, Ok, pluginEntry, SdkError } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class HelloWorldPlugin extends NekoPluginBase {
  private counter = 0;

  @lifecycle({ id: "startup" })
  async onStartup() {
    // static/ becomes the page at /plugin/hello_world/ui/; the plugin works without it, so a refusal is only logged.
    const ui = await this.registerStaticUi("static");
    if (!ui.ok) this.logger.warn("no web UI", { error: ui.error.message });
    this.logger.info("started");
    return Ok({ status: "ready" });
  }

  @lifecycle({ id: "shutdown" })
  onShutdown() {
    this.logger.info("stopping", { greeted: this.counter });
    return Ok({ greeted: this.counter });
  }

  @pluginEntry({
    id: "greet",
    description: "Return a greeting",
    inputSchema: {
      type: "object",
      properties: { name: { type: "string", default: "World", maxLength: 200 } },
      additionalProperties: false,
    },
    llmResultFields: ["message"],
  })
  greet({ name = "World" }: { name?: string }) {
    if (!name.trim()) return Err(new SdkError("name cannot be empty", { code: "EMPTY_NAME" }));
    this.counter += 1;
    return Ok({ message: `Hello, ${name}!`, count: this.counter });
  }
}
