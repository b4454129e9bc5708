/**
 * Entries from configuration: every key of the `[commands]` table is an entry answering with its reply. The entries
 * are registered at startup and follow every configuration change (`config_change`, `reload`); a change that would
 * make a bad entry is refused, so the old configuration stays.
 */
import {
  Err,
  lifecycle,
  NekoPluginBase,
  nekoPlugin,
  Ok,
  pluginEntry,
  type Result,
  SdkError,
  z,
} from "@neko/plugin-sdk/plugin";

type Commands = Record<string, string>;

const COMMAND_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const PLACEHOLDER = /\{([a-zA-Z0-9_]+)\}/g;
const commandParams = z.object({
  name: z.string().describe("the command, which becomes the entry id"),
  permanent: z.boolean().default(false).describe("write plugin.toml, or keep the change until the next restart"),
});

@nekoPlugin
export class DynamicPlugin extends NekoPluginBase {
  /** The reply of each registered command. */
  private readonly replies = new Map<string, string>();

  @lifecycle({ id: "startup" })
  onStartup() {
    const commands = this.checked(this.config.get("commands", {}));
    if (!commands.ok) return commands;
    this.sync(commands.value);
    return Ok({ commands: [...this.replies.keys()] });
  }

  @lifecycle({ id: "config_change" })
  onConfigChange({ newConfig }: { newConfig: Record<string, unknown> }) {
    return this.follow(newConfig);
  }

  @lifecycle({ id: "reload" })
  onReload({ newConfig }: { newConfig: Record<string, unknown> }) {
    return this.follow(newConfig);
  }

  @pluginEntry({ id: "list_commands", description: "The commands made from the [commands] table" })
  listCommands() {
    return Ok(Object.fromEntries(this.replies));
  }

  @pluginEntry({
    id: "add_command",
    description: "Add or change a command; `{word}` in the reply is filled from the call's args",
    params: commandParams.extend({ reply: z.string() }),
  })
  async addCommand({ name, reply, permanent }: { name: string; reply: string; permanent: boolean }) {
    const written = await this.config.set(["commands", name], reply, { mode: permanent ? "permanent" : "temporary" });
    return written.ok ? Ok({ commands: [...this.replies.keys()] }) : written;
  }

  @pluginEntry({ id: "remove_command", description: "Remove a command", params: commandParams })
  async removeCommand({ name, permanent }: { name: string; permanent: boolean }) {
    if (!this.replies.has(name)) return Err(new SdkError(`there is no command '${name}'`, { code: "NO_SUCH_COMMAND" }));
    const written = await this.config.set(["commands", name], "__DELETE__", {
      mode: permanent ? "permanent" : "temporary",
    });
    return written.ok ? Ok({ commands: [...this.replies.keys()] }) : written;
  }

  /** Accepts a new configuration only when every command makes a valid entry. */
  private follow(config: Record<string, unknown>) {
    const commands = this.checked(config.commands ?? {});
    if (!commands.ok) return commands;
    this.sync(commands.value);
    return Ok({ commands: [...this.replies.keys()] });
  }

  private checked(value: unknown): Result<Commands, SdkError> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return Err(new SdkError('[commands] must be a table of name = "reply"', { code: "BAD_COMMANDS" }));
    }
    const own = new Set(
      this.listEntries({ includeDisabled: true })
        .filter((e) => !e.dynamic)
        .map((e) => e.id),
    );
    const problems = Object.entries(value).flatMap(([name, reply]) => {
      if (!COMMAND_NAME.test(name)) return [`'${name}' is not a valid command name (letters, digits, '_', '-')`];
      if (own.has(name)) return [`'${name}' is taken by one of the plugin's own entries`];
      if (typeof reply !== "string") return [`the reply of '${name}' must be a string`];
      return [];
    });
    if (problems.length > 0) {
      return Err(
        new SdkError(`bad [commands]: ${problems.join("; ")}`, { code: "BAD_COMMANDS", details: { problems } }),
      );
    }
    return Ok(value as Commands);
  }

  /** Registers new commands, unregisters removed ones, and re-registers changed ones (their schema may change). */
  private sync(commands: Commands): void {
    for (const name of [...this.replies.keys()]) {
      if (commands[name] === this.replies.get(name)) continue;
      this.unregisterDynamicEntry(name);
      this.replies.delete(name);
    }
    for (const [name, reply] of Object.entries(commands)) {
      if (this.replies.has(name)) continue;
      const words = [...new Set(Array.from(reply.matchAll(PLACEHOLDER), (m) => m[1]))];
      this.registerDynamicEntry(name, (args: Record<string, unknown>) => Ok({ reply: fill(reply, args) }), {
        description: `Answers "${reply}" (from [commands])`,
        inputSchema: {
          type: "object",
          properties: Object.fromEntries(words.map((word) => [word, { type: "string" }])),
        },
      });
      this.replies.set(name, reply);
    }
  }
}

function fill(reply: string, args: Record<string, unknown>): string {
  return reply.replace(PLACEHOLDER, (whole, word: string) => (word in args ? String(args[word]) : whole));
}
