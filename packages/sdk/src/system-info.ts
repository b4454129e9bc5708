/** `this.systemInfo`: what the host reports about itself (SPEC §3.4). */
import type { SdkError } from "./errors.ts";
import type { Result } from "./result.ts";
import type { HostBridge } from "./runtime/host-client.ts";
import { toResult } from "./wire-result.ts";

export interface SystemInfo {
  hostName: string;
  versions: { host: string; sdk: string; node: string; protocol: number };
  platform: { os: string; arch: string; release: string };
  uptimeSeconds: number;
  plugins: { total: number; running: number; byStatus: Record<string, number> };
  resources: {
    cpus: number;
    totalMemoryBytes: number;
    freeMemoryBytes: number;
    hostRssBytes: number;
    loadAverage: number[];
  };
}

export class SystemInfoClient {
  constructor(private readonly bridge: HostBridge) {}

  async get(): Promise<Result<SystemInfo, SdkError>> {
    return toResult<SystemInfo>(await this.bridge.request("system.info", {}));
  }
}
