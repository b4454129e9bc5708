/** `npm run bench [-- --json] [--only <group>,…]`: what to print and which measurements to run. */

/** The measurements `--only` can pick, in the order they run. */
export const BENCH_GROUPS = [
  "floor",
  "moleculer",
  "entry",
  "transport",
  "cross",
  "fastify",
  "http",
  "mcp",
  "payload",
  "cold-start",
  "fork",
  "fleet",
  "fleet50",
  "thread",
  "bus",
] as const;
export type BenchGroup = (typeof BENCH_GROUPS)[number];

export const BENCH_USAGE = `usage: npm run bench [-- [--json] [--only <group>,…]]; groups: ${BENCH_GROUPS.join(", ")}`;

export interface BenchArgs {
  /** JSON on stdout, the table on stderr. */
  json: boolean;
  groups: ReadonlySet<BenchGroup>;
}

/** The bench's arguments, or a message naming what is wrong with them. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs | string {
  let json = false;
  let only: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--json") json = true;
    else if (arg === "--only" || arg.startsWith("--only=")) {
      const value = arg === "--only" ? argv[++i] : arg.slice("--only=".length);
      if (!value) return `--only needs a comma-separated list of groups (${BENCH_USAGE})`;
      only = [...(only ?? []), ...value.split(",").map((g) => g.trim())];
    } else return `unknown argument: ${arg} (${BENCH_USAGE})`;
  }
  const unknown = (only ?? []).filter((g) => !(BENCH_GROUPS as readonly string[]).includes(g));
  if (unknown.length > 0) return `unknown group(s): ${unknown.join(", ")} (${BENCH_USAGE})`;
  return { json, groups: new Set(only === undefined ? BENCH_GROUPS : (only as BenchGroup[])) };
}
