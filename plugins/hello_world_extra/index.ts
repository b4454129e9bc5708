import {
  Err,
  extension,
  extensionEntry,
  extensionHook,
  NekoExtensionBase,
  Ok,
  SdkError,
  z,
} from "@neko/plugin-sdk/extension";
import type { HelloWorldPlugin } from "../hello_world/index.ts";

/** Loaded into hello_world's process: `hello_world:extra_shout` is its entry, and `greet` goes through its guard. */
@extension
export class HelloWorldExtra extends NekoExtensionBase<HelloWorldPlugin> {
  @extensionEntry({
    id: "shout",
    description: "Greet loudly, through hello_world's own greet",
    params: z.object({ name: z.string().min(1).max(200).default("World") }),
  })
  async shout({ name }: { name: string }) {
    // this.host is the hello_world instance: its public methods, in the same process.
    const greeting = this.host.greet({ name });
    if (!greeting.ok) return greeting;
    // The extension's own store (plugins/hello_world_extra/data/store.sqlite), not hello_world's.
    const counted = await this.store.get<number>("shouts", 0);
    const shouts = (counted.ok ? (counted.value ?? 0) : 0) + 1;
    await this.store.set("shouts", shouts);
    return Ok({ message: greeting.value.message.toUpperCase(), shouts });
  }

  @extensionHook({ target: "greet", timing: "before" })
  guard({ args }: { args: { name?: string } }) {
    const blocked = this.config.get<string[]>("guard.blocked_names", []);
    if (args.name !== undefined && blocked.includes(args.name)) {
      return Err(new SdkError(`'${args.name}' may not be greeted`, { code: "NAME_BLOCKED" }));
    }
  }
}
