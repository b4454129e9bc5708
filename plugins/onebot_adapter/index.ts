import { AdapterGatewayCore, NekoAdapterPlugin } from "@neko/plugin-sdk/adapter";
import {
  type ConfigChangeEvent,
  Err,
  lifecycle,
  nekoPlugin,
  Ok,
  type Result,
  type SdkError,
  ValidationError,
} from "@neko/plugin-sdk/plugin";
import { OneBotAccess } from "./onebot-access.ts";
import { OneBotDispatcher } from "./onebot-dispatcher.ts";
import { OneBotServer } from "./onebot-server.ts";
import { type OneBotSettings, readCommandRules, readOneBotSettings } from "./onebot-settings.ts";

/** How often, at most, the status report follows the counters. */
const STATUS_EVERY_MS = 500;

/** What the configuration makes, before anything listens. */
interface Prepared {
  settings: OneBotSettings;
  gateway: AdapterGatewayCore;
  dispatcher: OneBotDispatcher;
}

/**
 * The OneBot v11 adapter (docs/onebot.md): serves HTTP POST and reverse WebSocket on its own port for a OneBot
 * implementation (NapCat, Lagrange, go-cqhttp, …), runs each `/command` through the gateway pipeline to the entry its
 * `[[adapter.routes]]` rule names, and replies in OneBot form. Its URLs are in its status (`GET /plugin/status`).
 */
@nekoPlugin
export class OneBotAdapterPlugin extends NekoAdapterPlugin {
  private current: (Prepared & { server: OneBotServer }) | undefined;
  private statusTimer: NodeJS.Timeout | undefined;

  @lifecycle({ id: "startup" })
  async startup() {
    const opened = await this.open();
    if (!opened.ok) return opened;
    this.logger.info("OneBot v11 endpoints ready", opened.value);
    return Ok(opened.value);
  }

  @lifecycle({ id: "shutdown" })
  async shutdown() {
    await this.close();
  }

  /**
   * A change of `[onebot]` or `[adapter]` takes effect at once: the endpoints reopen with it. A wrong value refuses
   * the change before anything closes; a port that cannot be had refuses it too, and the old endpoints come back.
   */
  @lifecycle({ id: "config_change" })
  configChange(change: ConfigChangeEvent) {
    return this.reopen(change);
  }

  /** `reload?mode=config`: the same, from the files re-read. */
  @lifecycle({ id: "reload" })
  reload(change: ConfigChangeEvent) {
    return this.reopen(change);
  }

  private async reopen({ oldConfig, newConfig }: ConfigChangeEvent) {
    const same = (key: string) => JSON.stringify(oldConfig[key]) === JSON.stringify(newConfig[key]);
    if (same("onebot") && same("adapter")) return Ok();
    // `this.config` is the new configuration while this runs.
    const prepared = this.prepare();
    if (!prepared.ok) return prepared;
    await this.close();
    const opened = await this.listen(prepared.value);
    // The runtime puts the old configuration back once this returns; then the old endpoints reopen from it.
    if (!opened.ok) setImmediate(() => void this.reopenOld());
    return opened;
  }

  private async reopenOld(): Promise<void> {
    const back = await this.open();
    if (!back.ok) this.logger.error("the OneBot endpoints could not reopen", { error: back.error.message });
  }

  private async open(): Promise<Result<{ http_url: string; ws_url: string }, SdkError>> {
    const prepared = this.prepare();
    return prepared.ok ? this.listen(prepared.value) : prepared;
  }

  private prepare(): Result<Prepared, SdkError> {
    try {
      const settings = readOneBotSettings(this.config.get("onebot"));
      const rules = readCommandRules(this.config.get("adapter.routes"));
      const gateway = AdapterGatewayCore.forPlugin(this);
      const dispatcher = new OneBotDispatcher({
        gateway,
        prefixes: settings.commandPrefixes,
        rules,
        selfCommands: ["help"],
      });
      gateway.handle("help", () => dispatcher.helpLine());
      return Ok({ settings, gateway, dispatcher });
    } catch (error) {
      if (error instanceof ValidationError) return Err(error);
      throw error;
    }
  }

  private async listen(prepared: Prepared): Promise<Result<{ http_url: string; ws_url: string }, SdkError>> {
    const { settings, dispatcher, gateway } = prepared;
    let server: OneBotServer;
    try {
      server = await OneBotServer.listen({
        host: settings.host,
        port: settings.port,
        access: new OneBotAccess({ accessToken: settings.accessToken, secret: settings.secret }),
        logger: this.logger,
        onMessage: (event) => dispatcher.handle(event),
        onActivity: () => this.scheduleStatus(),
      });
    } catch (error) {
      gateway.dispose();
      const { code, message } = error as NodeJS.ErrnoException;
      const where = `${settings.host}:${settings.port}`;
      return Err(
        new ValidationError(`the OneBot endpoints cannot listen on ${where}: ${message}`, { details: { code } }),
      );
    }
    this.current = { ...prepared, server };
    this.warnAboutAccess(settings);
    this.reportNow();
    return Ok({ http_url: server.httpUrl, ws_url: server.wsUrl });
  }

  /** Settings that work but leave a door open are said once, at each start. */
  private warnAboutAccess(settings: OneBotSettings): void {
    const loopback = /^(127\.|::1$|localhost$)/.test(settings.host);
    if (settings.accessToken === "" && !loopback) {
      this.logger.warn(
        "[onebot] access_token is empty and the endpoints listen beyond this machine: anyone who reaches the port can run the routed commands",
        { host: settings.host },
      );
    } else if (settings.accessToken === "" && settings.secret !== "") {
      this.logger.warn(
        "[onebot] secret checks HTTP POST bodies only: without an access_token the reverse WebSocket takes any client",
      );
    }
  }

  private async close(): Promise<void> {
    const { current } = this;
    this.current = undefined;
    clearTimeout(this.statusTimer);
    this.statusTimer = undefined;
    await current?.server.close();
    current?.gateway.dispose();
  }

  private scheduleStatus(): void {
    if (!this.current) return;
    this.statusTimer ??= setTimeout(() => {
      this.statusTimer = undefined;
      this.reportNow();
    }, STATUS_EVERY_MS);
  }

  private reportNow(): void {
    if (!this.current) return;
    const { server, settings, dispatcher } = this.current;
    const { httpEvents, wsEvents, replies, refused, malformed } = server.counters;
    const reported = this.reportStatus({
      http_url: server.httpUrl,
      ws_url: server.wsUrl,
      access_token_required: settings.accessToken !== "",
      signature_required: settings.secret !== "",
      commands: dispatcher.commandList(),
      connections: server.listConnections().map((c) => ({ self_id: c.selfId, role: c.role, since: c.since })),
      events: { http: httpEvents, ws: wsEvents },
      replies,
      refused,
      malformed,
    });
    if (!reported.ok) this.logger.warn("could not report the status", { error: reported.error.message });
  }
}
