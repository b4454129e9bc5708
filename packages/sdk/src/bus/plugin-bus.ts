/**
 * `this.bus` (SPEC §3.4, §4.4): publish and subscribe across plugin processes, and query or watch the host's
 * namespaces `events`, `messages`, `lifecycle`, `conversations` and `memory`. Documented in docs/bus.md.
 */
import { type DisposableStore, MAX_BUS_PAYLOAD_BYTES, payloadBytes } from "@neko/protocol";
import { fromWireError, ValidationError, type SdkError } from "../errors.ts";
import type { PluginLogger } from "../plugin-logger.ts";
import { Err, Ok, type Result } from "../result.ts";
import type { HostBridge } from "../runtime/host-client.ts";
import { toResult } from "../wire-result.ts";
import { BusConnection, type BusHandler, type BusLink } from "./bus-connection.ts";
import { BusNamespace, ConversationNamespace } from "./bus-namespace.ts";
import { scopedBusLink } from "./scoped-bus-link.ts";

const MAX_TYPE_LENGTH = 256;

export class PluginBus {
  readonly events: BusNamespace;
  readonly messages: BusNamespace;
  readonly lifecycle: BusNamespace;
  readonly conversations: ConversationNamespace;
  readonly memory: BusNamespace;
  private readonly connection: BusLink;

  /** With a `scope`, every handler and watch it opens is closed when the scope is disposed (an extension's bus). */
  constructor(bridge: HostBridge, logger: PluginLogger, scope?: DisposableStore) {
    const connection = BusConnection.for(bridge, logger);
    this.connection = scope ? scopedBusLink(connection, scope) : connection;
    this.events = new BusNamespace(this.connection, "events");
    this.messages = new BusNamespace(this.connection, "messages");
    this.lifecycle = new BusNamespace(this.connection, "lifecycle");
    this.conversations = new ConversationNamespace(this.connection, "conversations");
    this.memory = new BusNamespace(this.connection, "memory");
  }

  /**
   * Publishes an event to every subscriber in every plugin (this one included), in order, at most once; it is
   * also recorded in `bus.events`. `Err(ValidationError)` for a bad type or priority; nothing is sent then.
   */
  emit(type: string, payload?: unknown, options: { priority?: number } = {}): Result<void, SdkError> {
    if (typeof type !== "string" || type.length === 0 || type.length > MAX_TYPE_LENGTH || type === "*") {
      return Err(
        new ValidationError(`emit: type must be a string of 1–${MAX_TYPE_LENGTH} characters other than '*'`, {
          details: { field: "type" },
        }),
      );
    }
    const { priority } = options;
    if (priority !== undefined && !(Number.isInteger(priority) && priority >= 0 && priority <= 10)) {
      return Err(
        new ValidationError("emit: priority must be a whole number from 0 to 10", { details: { field: "priority" } }),
      );
    }
    // Checked here too: the host drops an oversized event silently (emit has no answer).
    const bytes = payloadBytes(payload ?? null);
    if (bytes > MAX_BUS_PAYLOAD_BYTES) {
      return Err(
        new ValidationError(`emit: the payload is ${bytes} bytes; the limit is ${MAX_BUS_PAYLOAD_BYTES} (1 MiB)`, {
          details: { field: "payload", bytes, limit: MAX_BUS_PAYLOAD_BYTES },
        }),
      );
    }
    const sent = this.connection.emit(type, payload ?? null, priority);
    return sent.ok ? Ok(undefined) : Err(fromWireError(sent.error));
  }

  /** Calls `handler(payload, event)` for every event of `type` (`"*"`: every type); returns the unsubscribe. */
  on(type: string, handler: BusHandler): () => void {
    if (typeof type !== "string" || type.length === 0 || type.length > MAX_TYPE_LENGTH) {
      throw new TypeError(`bus.on: type must be a string of 1–${MAX_TYPE_LENGTH} characters`);
    }
    if (typeof handler !== "function") throw new TypeError("bus.on: handler must be a function");
    return this.connection.on(type, handler);
  }

  /** Resolves once the host has handled every `on`, `emit` and unsubscribe this process made before it. */
  async flush(): Promise<Result<void, SdkError>> {
    const answer = toResult(await this.connection.flush());
    return answer.ok ? Ok(undefined) : answer;
  }
}
