/** `this.systemInfo`: what the host reports about itself (SPEC §3.4). */
import type { SystemInfo } from "@neko/protocol";
import type { SdkError } from "./errors.ts";
import type { Result } from "./result.ts";
import type { HostBridge } from "./runtime/host-client.ts";
import { toResult } from "./wire-result.ts";

export type { SystemInfo };

export class SystemInfoClient {
  constructor(private readonly bridge: HostBridge) {}

  async get(): Promise<Result<SystemInfo, SdkError>> {
    return toResult(await this.bridge.request("system.info", {}));
  }
}
