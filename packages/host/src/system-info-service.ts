/** The `system.info` host service behind `this.systemInfo.get()`. */
import os from "node:os";
import { PROTOCOL_VERSION } from "@neko/protocol";
import type { HostFeature } from "./host-context.ts";

export const systemInfoService: HostFeature = ({ services, api }) =>
  services.handle("system.info", () => {
    const info = api.info();
    return {
      ok: true,
      value: {
        hostName: os.hostname(),
        versions: { host: info.host_version, sdk: info.sdk_version, node: process.version, protocol: PROTOCOL_VERSION },
        platform: { os: process.platform, arch: process.arch, release: os.release() },
        uptimeSeconds: info.uptime_s,
        plugins: { total: info.plugins.total, running: info.plugins.running, byStatus: info.plugins.by_status },
        resources: {
          cpus: os.availableParallelism(),
          totalMemoryBytes: os.totalmem(),
          freeMemoryBytes: os.freemem(),
          hostRssBytes: process.memoryUsage.rss(),
          loadAverage: os.loadavg(),
        },
      },
    };
  });
