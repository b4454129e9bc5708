/**
 * From a OneBot message to the reply (docs/onebot.md#commands): the command in its text, its arguments, one request
 * through the gateway pipeline (policy, route rules, invoke), and the result, the error or the help line as text.
 * Messages that are not commands get no reply.
 */
import { randomUUID } from "node:crypto";
import { type ExternalRequest, GatewayErrorCode, type GatewayResponse } from "@neko/plugin-sdk/adapter";
import { commandArgs, parseCommand } from "./onebot-command.ts";
import { type OneBotMessageEvent, messageText } from "./onebot-event.ts";
import { errorText, helpText, resultText } from "./onebot-reply.ts";
import type { OneBotCommandRule } from "./onebot-settings.ts";

/** The one thing the dispatcher needs of the gateway. */
export interface OneBotGateway {
  process(external: ExternalRequest): Promise<GatewayResponse>;
}

export interface OneBotDispatcherOptions {
  gateway: OneBotGateway;
  prefixes: readonly string[];
  rules: readonly OneBotCommandRule[];
  /** Commands the adapter answers itself (`self` handlers such as `help`), listed after the rules' ones. */
  selfCommands?: readonly string[];
}

export class OneBotDispatcher {
  constructor(private readonly options: OneBotDispatcherOptions) {}

  /** The reply to a message: undefined when it is no command, or the route answered nothing. Never throws. */
  async handle(event: OneBotMessageEvent): Promise<string | undefined> {
    const command = parseCommand(messageText(event.message), this.options.prefixes);
    if (!command) return undefined;
    const rule = this.options.rules.find((r) => r.matches(command.name));
    const args = commandArgs(command, rule?.textArg);
    // Text that is no arguments matters only to a command that takes some: an unknown command still gets the help
    // line, a dropped one silence.
    if (!args.ok && rule?.listed) return args.usage;
    const onebot: Record<string, unknown> = {
      message_type: event.messageType,
      self_id: event.selfId,
      user_id: event.userId,
    };
    if (event.groupId !== undefined) onebot.group_id = event.groupId;
    const response = await this.options.gateway.process({
      protocol: "onebot",
      connectionId: `onebot:${event.selfId}:${event.userId}`,
      requestId: event.messageId ?? randomUUID(),
      action: command.name,
      payload: args.ok ? args.args : {},
      metadata: { onebot },
    });
    if (response.ok) return resultText(response.data);
    const known = rule !== undefined || (this.options.selfCommands ?? []).includes(command.name);
    if (!known && response.error.code === GatewayErrorCode.RouteFailed) {
      return helpText({ unknown: `${command.prefix}${command.name}`, commands: this.commandList() });
    }
    return errorText(response.error);
  }

  /** The help line (`/help`). */
  helpLine(): string {
    return helpText({ commands: this.commandList() });
  }

  /** `/greet <name>`, `/help`, …: every command a rule names exactly, then the adapter's own. */
  commandList(): string[] {
    const prefix = this.options.prefixes[0] ?? "";
    const listed = new Map<string, string>();
    for (const rule of this.options.rules) {
      if (!rule.listed || rule.action.includes("*") || listed.has(rule.action)) continue;
      listed.set(rule.action, `${prefix}${rule.action}${rule.textArg ? ` <${rule.textArg}>` : ""}`);
    }
    for (const name of this.options.selfCommands ?? []) if (!listed.has(name)) listed.set(name, `${prefix}${name}`);
    return [...listed.values()];
  }
}
