/**
 * `npm run soak [-- --minutes 10] [--rate N] [--connections 64] [--sample-seconds 10] [--json]`: runs the soak
 * (soak-run.ts) and prints its report; progress goes to stderr. Ctrl-C ends the run early, still reporting, and every
 * process and temp folder it started is gone when it exits.
 */
import { formatSoakReport } from "./soak-report.ts";
import { runSoak } from "./soak-run.ts";

function progress(line: string): void {
  process.stderr.write(`[soak] ${line}\n`);
}

function parseArgs(argv: string[]) {
  const options = {
    minutes: 10,
    rate: undefined as number | undefined,
    connections: 64,
    sampleSeconds: 10,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const number = (min: number) => {
      const value = Number(argv[++i]);
      if (!Number.isFinite(value) || value < min) throw new Error(`${arg} needs a number ≥ ${min}`);
      return value;
    };
    if (arg === "--minutes") options.minutes = number(0.1);
    else if (arg === "--rate") options.rate = number(1);
    else if (arg === "--connections") options.connections = Math.round(number(1));
    else if (arg === "--sample-seconds") options.sampleSeconds = number(1);
    else if (arg === "--json") options.json = true;
    else
      throw new Error(
        `unknown argument ${arg} (usage: npm run soak -- [--minutes N] [--rate N] [--connections N] [--sample-seconds N] [--json])`,
      );
  }
  return options;
}

const options = parseArgs(process.argv.slice(2));
const interrupt = new AbortController();
process.once("SIGINT", () => {
  progress("interrupted: reporting what was measured, then cleaning up");
  interrupt.abort();
});
process.once("SIGTERM", () => interrupt.abort());
try {
  progress(
    `${options.minutes} min, ${options.connections} connections${options.rate ? `, ${options.rate} req/s` : ""}`,
  );
  const report = await runSoak({
    durationMs: options.minutes * 60_000,
    connections: options.connections,
    rate: options.rate,
    sampleEveryMs: options.sampleSeconds * 1000,
    signal: interrupt.signal,
    log: progress,
  });
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`\n${formatSoakReport(report)}\n`);
  process.exitCode = report.healthyErrors === 0 ? 0 : 1;
} catch (error) {
  progress(`failed: ${(error as Error).stack ?? error}`);
  process.exitCode = 1;
}
