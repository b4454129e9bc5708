/**
 * The plugins the soak drives, written into a temp folder like a user's: an echo, a caller that relays to it
 * (a cross-plugin call), a publisher and subscribers on the bus, and one that crashes on purpose soon after each start.
 */
import { writePlugin } from "../test/support/plugin-fixtures.ts";

export const SOAK_EVENT_TYPE = "soak.tick";
export const EVENTS_PER_PUBLISH = 5;
export const SUBSCRIBER_IDS = ["soak_sub_1", "soak_sub_2", "soak_sub_3"];
export const CRASHER_ID = "soak_crasher";
/** The plugins that must never fail a request: every one but the crasher. */
export const HEALTHY_IDS = ["soak_echo", "soak_caller", "soak_publisher", ...SUBSCRIBER_IDS];
/** How long each crasher process lives before it exits with code 1, unless the soak says otherwise. */
export const CRASH_AFTER_MS = 1500;

const echoCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class SoakEcho extends NekoPluginBase {
  @pluginEntry({ id: "echo" })
  echo(args: Record<string, unknown>) {
    return Ok(args);
  }
}
`;

const callerCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class SoakCaller extends NekoPluginBase {
  @pluginEntry({ id: "relay" })
  async relay(args: Record<string, unknown>) {
    // The target's Err comes back as this call's Err.
    const answer = await this.plugins.callEntry("soak_echo:echo", args);
    return answer.ok ? Ok({ relayed: answer.value }) : answer;
  }
}
`;

const publisherCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class SoakPublisher extends NekoPluginBase {
  private published = 0;

  @pluginEntry({ id: "publish" })
  publish() {
    for (let n = 0; n < ${EVENTS_PER_PUBLISH}; n++) {
      const sent = this.bus.emit("${SOAK_EVENT_TYPE}", { n: this.published });
      if (!sent.ok) return sent;
      this.published += 1;
    }
    return Ok(this.published);
  }
}
`;

const subscriberCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, lifecycle, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class SoakSubscriber extends NekoPluginBase {
  private received = 0;

  @lifecycle({ id: "startup" })
  async startup() {
    this.bus.on("${SOAK_EVENT_TYPE}", () => {
      this.received += 1;
    });
    return await this.bus.flush();
  }

  @pluginEntry({ id: "received" })
  count() {
    return Ok(this.received);
  }
}
`;

function crasherCode(crashAfterMs: number): string {
  return `
import { NekoPluginBase, nekoPlugin, pluginEntry, lifecycle, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class SoakCrasher extends NekoPluginBase {
  @lifecycle({ id: "startup" })
  startup() {
    setTimeout(() => {
      console.error("crashing on purpose");
      process.exit(1);
    }, ${crashAfterMs});
    return Ok("up, for now");
  }

  @pluginEntry({ id: "ping" })
  ping() {
    return Ok("pong");
  }
}
`;
}

/** Writes every soak plugin into `root`; the crasher exits `crashAfterMs` after each start. */
export function writeSoakPlugins(root: string, crashAfterMs = CRASH_AFTER_MS): void {
  writePlugin(root, { id: "soak_echo", className: "SoakEcho", code: echoCode });
  writePlugin(root, { id: "soak_caller", className: "SoakCaller", code: callerCode });
  writePlugin(root, { id: "soak_publisher", className: "SoakPublisher", code: publisherCode });
  for (const id of SUBSCRIBER_IDS) writePlugin(root, { id, className: "SoakSubscriber", code: subscriberCode });
  writePlugin(root, { id: CRASHER_ID, className: "SoakCrasher", code: crasherCode(crashAfterMs) });
}
