/**
 * `this.pushMessage` (SPEC §3.4): puts a message on the host message queue (`GET /plugin/messages`, its SSE
 * stream and `bus.messages`). The host checks the fields; a refusal is `Err(ValidationError)` naming the field.
 */
import type { SdkError } from "./errors.ts";
import type { Result } from "./result.ts";
import type { HostBridge } from "./runtime/host-client.ts";
import { toResult } from "./wire-result.ts";

export interface PushMessageInput {
  /** Who or what the message is from; default: the plugin id. */
  source?: string;
  /** Default `text`. `text` needs `content`; `url` needs an http(s) URL in `content`; `binary` needs `binaryData`; `binary_url` needs `binaryUrl`. */
  messageType?: "text" | "url" | "binary" | "binary_url";
  description?: string;
  /** 0 (lowest) to 10 (urgent); default 5. */
  priority?: number;
  content?: string;
  /** Bytes, or a base64 string; at most 1 MiB. */
  binaryData?: Uint8Array | string;
  binaryUrl?: string;
  metadata?: Record<string, unknown>;
}

/** Resolves with the message's id (its cursor in `GET /plugin/messages`). */
export async function pushMessage(
  bridge: HostBridge,
  input: PushMessageInput,
): Promise<Result<{ id: number }, SdkError>> {
  return toResult<{ id: number }>(await bridge.request("messages.push", input));
}
