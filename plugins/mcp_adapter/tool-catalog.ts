/**
 * Which entries are MCP tools, and under which names (docs/mcp.md#which-entries-are-tools): every enabled entry of
 * every running plugin that `[mcp] expose` names and `[mcp] hide` does not, as `<plugin>__<entry>`. MCP tool names
 * allow letters, digits, `_`, `-` and `.`: an entry id's `:` becomes `_`; a name that two entries would share, or one
 * longer than 128 characters, is left out (with a warning) rather than guessed at.
 */
import type { NekoAdapterPlugin } from "@neko/plugin-sdk/adapter";
import type { PluginInfo } from "@neko/plugin-sdk/plugin";

export interface ToolTarget {
  pluginId: string;
  entryId: string;
  llmResultFields: string[] | null;
}

export interface ToolListing {
  name: string;
  title: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

const TOOL_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;

/** `plugin` or `plugin:entry`, with `*` standing for any run of characters in either part. */
export function matchesPattern(pattern: string, pluginId: string, entryId: string): boolean {
  // Plugin ids hold no ':'; entry ids may (a router's or an extension's prefix): only the first one splits.
  const colon = pattern.indexOf(":");
  const pluginPart = colon < 0 ? pattern : pattern.slice(0, colon);
  const entryPart = colon < 0 ? "*" : pattern.slice(colon + 1);
  return glob(pluginPart).test(pluginId) && glob(entryPart).test(entryId);
}

function glob(part: string): RegExp {
  const escaped = part.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*");
  return new RegExp(`^${escaped}$`);
}

export function toolName(pluginId: string, entryId: string): string {
  return `${pluginId}__${entryId.replaceAll(":", "_")}`;
}

export class ToolCatalog {
  private cached: Promise<Map<string, ToolTarget & ToolListing>> | undefined;

  constructor(private readonly plugin: NekoAdapterPlugin) {}

  /** The tools now (cached until the next change). */
  async tools(): Promise<ToolListing[]> {
    const map = await this.load();
    return [...map.values()].map(({ name, title, description, inputSchema }) => ({
      name,
      title,
      description,
      inputSchema,
    }));
  }

  /** The entry behind a tool name; undefined when no tool has it now. */
  async resolve(name: string): Promise<ToolTarget | undefined> {
    const found = (await this.load()).get(name);
    return found && { pluginId: found.pluginId, entryId: found.entryId, llmResultFields: found.llmResultFields };
  }

  /** Plugins or entries changed: the next listing asks the host again. */
  forget(): void {
    this.cached = undefined;
  }

  private load(): Promise<Map<string, ToolTarget & ToolListing>> {
    this.cached ??= this.build().catch((error: unknown) => {
      this.cached = undefined;
      throw error;
    });
    return this.cached;
  }

  private async build(): Promise<Map<string, ToolTarget & ToolListing>> {
    const listed = await this.plugin.plugins.list();
    if (!listed.ok) throw listed.error;
    const expose = this.patterns("mcp.expose", ["*"]);
    const hide = this.patterns("mcp.hide", []);
    const tools = new Map<string, ToolTarget & ToolListing>();
    const clashes = new Set<string>();
    for (const p of listed.value.filter((info: PluginInfo) => info.running)) {
      for (const e of p.entries) {
        if (!e.enabled) continue;
        const shown =
          expose.some((x) => matchesPattern(x, p.id, e.id)) && !hide.some((x) => matchesPattern(x, p.id, e.id));
        if (!shown) continue;
        const name = toolName(p.id, e.id);
        if (!TOOL_NAME.test(name) || tools.has(name)) {
          clashes.add(name);
          continue;
        }
        tools.set(name, {
          name,
          title: `${p.name}: ${e.name}`,
          description: e.description || `${e.name} (entry '${e.id}' of plugin '${p.id}')`,
          inputSchema: objectSchema(e.inputSchema),
          pluginId: p.id,
          entryId: e.id,
          llmResultFields: e.llmResultFields ?? null,
        });
      }
    }
    for (const name of clashes) {
      tools.delete(name);
      this.plugin.logger.warn(
        `tool '${name}' is left out: its name is not a valid MCP tool name, or two entries share it`,
      );
    }
    return tools;
  }

  private patterns(path: string, fallback: string[]): string[] {
    const value = this.plugin.config.get<unknown>(path, fallback);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : fallback;
  }
}

/** MCP wants an object schema at the top: an entry without one takes any object. */
function objectSchema(schema: Record<string, unknown> | null): Record<string, unknown> {
  if (schema && schema.type === "object") {
    const { $schema: _ignored, ...rest } = schema;
    return rest;
  }
  return { type: "object", properties: {}, additionalProperties: true };
}
