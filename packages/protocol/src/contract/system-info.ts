/** `system.info`'s answer: what the host reports about itself (`this.systemInfo.get()`, SPEC §3.4). */
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
