/**
 * `neko-plugin list`, `call` and `status`: the commands that talk to a running server over its HTTP API
 * (docs/cli.md). Exit codes: 0 on success, 1 when the server answered with an error or could not be reached, 2 for a
 * usage error (a bad `--args`, a target without `:`).
 */
import type { Command, CommanderError } from "commander";
import { answerError, type ServerAnswer, ServerClient, ServerUnreachable } from "../server-client.ts";
import { formatTable, paintFor, stateColour, terminalSafe } from "../text-table.ts";

interface ClientOptions {
  url?: string;
  json?: boolean;
}

interface CallOptions extends ClientOptions {
  args?: string;
  timeout?: string;
}

/** What the commands read of one plugin in `GET /plugins`. */
interface PluginView {
  id: string;
  type?: string;
  status?: string;
  status_reason?: string | null;
  version?: string | null;
  entries?: unknown[];
  errors?: unknown[];
}

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** A usage error: the message names the problem, the exit code is 2. */
class UsageError extends Error {}

export function registerClientCommands(program: Command): void {
  clientCommand(program, "list", "the plugins of a running server: id, type, state, version, entries, reason")
    .option("--json", "print the server's answer (GET /plugins) as JSON")
    .addHelpText("after", examples(["neko-plugin list", "NEKO_URL=http://10.0.0.5:48916 neko-plugin list --json"]))
    .action((options: ClientOptions) => run("list", () => list(options)));

  clientCommand(program, "call", "call an entry of a running plugin and print what it returns")
    .argument("<plugin:entry>", "the plugin id and the entry id, separated by ':'")
    .option("-a, --args <json>", "the arguments, a JSON object", "{}")
    .option("-t, --timeout <seconds>", "give up after this many seconds (it can only shorten the entry's own timeout)")
    .option("--json", "print the whole answer of POST /plugin/trigger as JSON (success, data, error, run_id)")
    .addHelpText(
      "after",
      examples([
        `neko-plugin call hello_world:greet --args '{"name":"Neko"}'`,
        "neko-plugin call counter:add --args '{\"by\":2}' --timeout 5 --json",
      ]) +
        "\n\nExit code: 0 when the entry returned Ok, 1 when it returned an Err (printed as CODE: message on stderr)\n" +
        "or the server could not be reached, 2 for a usage error.",
    )
    .action((target: string, options: CallOptions) => run("call", () => call(target, options)));

  clientCommand(program, "status", "the server's versions and uptime, and each plugin's state in short")
    .option("--json", "print { server, plugins } as JSON (GET /server/info and each plugin's state)")
    .addHelpText("after", examples(["neko-plugin status", "NEKO_PORT=48917 neko-plugin status --json"]))
    .action((options: ClientOptions) => run("status", () => status(options)));
}

/** A sub-command with `--url`, whose own usage errors exit 2 rather than commander's 1. */
function clientCommand(program: Command, name: string, description: string): Command {
  return program
    .command(name)
    .description(description)
    .option("-u, --url <url>", "the server (default: $NEKO_URL, else http://127.0.0.1:$NEKO_PORT, port 48916)")
    .exitOverride((error: CommanderError) => {
      process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
    });
}

function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join("\n")}\n\nThe server's token, if it has one, is read from $NEKO_API_TOKEN.`;
}

/** Runs a command: an unreachable server or an error answer is one line on stderr and exit 1, a usage error exit 2. */
async function run(name: string, action: () => Promise<number>): Promise<void> {
  let code: number;
  try {
    code = await action();
  } catch (error) {
    if (!(error instanceof ServerUnreachable || error instanceof UsageError)) throw error;
    process.stderr.write(`neko-plugin ${name}: ${error.message}\n`);
    code = error instanceof UsageError ? EXIT_USAGE : EXIT_FAILED;
  }
  process.exitCode = code;
}

/** An answer other than 2xx, as `CODE: message` on stderr; true when there was one. */
function reportedError(answer: ServerAnswer): boolean {
  if (answer.status >= 200 && answer.status < 300) return false;
  const { code, message } = answerError(answer);
  process.stderr.write(`${code}: ${message}\n`);
  return true;
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

async function fetchPlugins(client: ServerClient): Promise<{ answer: ServerAnswer; plugins: PluginView[] }> {
  const answer = await client.request("GET", "/plugins");
  const plugins = (answer.body as { plugins?: PluginView[] } | undefined)?.plugins;
  return { answer, plugins: Array.isArray(plugins) ? plugins : [] };
}

/** Why a plugin is not serving: its status reason, else its manifest errors; empty for a healthy one. */
function reasonOf(plugin: PluginView): string {
  if (plugin.status_reason) return plugin.status_reason;
  const errors = (plugin.errors ?? []).map((e) => (typeof e === "string" ? e : JSON.stringify(e)));
  return errors.join("; ");
}

async function list(options: ClientOptions): Promise<number> {
  const { answer, plugins } = await fetchPlugins(new ServerClient({ url: options.url }));
  if (reportedError(answer)) return EXIT_FAILED;
  if (options.json) {
    printJson(answer.body);
    return 0;
  }
  if (plugins.length === 0) {
    process.stdout.write("no plugins\n");
    return 0;
  }
  const paint = paintFor(process.stdout);
  const rows = plugins.map((p) => [
    p.id,
    p.type ?? "",
    p.status ?? "",
    p.version ?? "",
    String(p.entries?.length ?? 0),
    reasonOf(p),
  ]);
  const table = formatTable({
    header: ["ID", "TYPE", "STATE", "VERSION", "ENTRIES", "REASON"],
    rows,
    paint,
    colourOf: (column, cell) => (column === 2 ? stateColour(cell.trim()) : column === 5 ? "dim" : undefined),
  });
  process.stdout.write(`${table}\n`);
  return 0;
}

/** `plugin:entry` split on the first ':' (an entry id may hold more). */
function parseTarget(target: string): { pluginId: string; entryId: string } {
  const at = target.indexOf(":");
  if (at <= 0 || at === target.length - 1) {
    throw new UsageError(`'${target}' is not <plugin:entry> (e.g. hello_world:greet)`);
  }
  return { pluginId: target.slice(0, at), entryId: target.slice(at + 1) };
}

function parseArgs(text: string): Record<string, unknown> {
  let args: unknown;
  try {
    args = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--args is not valid JSON: ${(error as Error).message}`);
  }
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    throw new UsageError(`--args must be a JSON object (got ${Array.isArray(args) ? "an array" : String(args)})`);
  }
  return args as Record<string, unknown>;
}

function parseTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`--timeout must be a number of seconds above 0 (got '${text}')`);
  }
  return seconds;
}

async function call(target: string, options: CallOptions): Promise<number> {
  const { pluginId, entryId } = parseTarget(target);
  const args = parseArgs(options.args ?? "{}");
  const timeout = parseTimeout(options.timeout);
  const client = new ServerClient({ url: options.url });
  // The server answers a call within its timeout (default 30 s); a little longer here, for the way back.
  const waitMs = ((timeout ?? 30) + 10) * 1000;
  const answer = await client.request(
    "POST",
    "/plugin/trigger",
    { plugin_id: pluginId, entry_id: entryId, args, ...(timeout !== undefined && { timeout }) },
    waitMs,
  );
  const body = answer.body as { success?: unknown; data?: unknown } | undefined;
  const ok = answer.status >= 200 && answer.status < 300 && body?.success === true;
  if (options.json) printJson(answer.body ?? null);
  if (!ok) {
    const { code, message } = answerError(answer);
    process.stderr.write(`${code}: ${message}\n`);
    return EXIT_FAILED;
  }
  if (!options.json) printJson(body?.data ?? null);
  return 0;
}

async function status(options: ClientOptions): Promise<number> {
  const client = new ServerClient({ url: options.url });
  const info = await client.request("GET", "/server/info");
  if (reportedError(info)) return EXIT_FAILED;
  const { answer, plugins } = await fetchPlugins(client);
  if (reportedError(answer)) return EXIT_FAILED;
  const states = plugins.map((p) => ({
    id: terminalSafe(p.id),
    status: terminalSafe(p.status),
    reason: terminalSafe(reasonOf(p)) || null,
  }));
  if (options.json) {
    printJson({ url: client.url, server: info.body, plugins: states });
    return 0;
  }
  const server = (info.body ?? {}) as { host_version?: string; node_version?: string; uptime_s?: number };
  const paint = paintFor(process.stdout);
  const counts = new Map<string, number>();
  for (const p of states) counts.set(p.status, (counts.get(p.status) ?? 0) + 1);
  const summary = [...counts].map(([state, n]) => `${n} ${paint(state, stateColour(state))}`).join(", ");
  const idWidth = Math.max(0, ...states.map((p) => p.id.length));
  const stateWidth = Math.max(0, ...states.map((p) => p.status.length));
  const lines = [
    `${paint("server", "bold")} ${client.url}: host ${terminalSafe(server.host_version ?? "?")}, node ${terminalSafe(server.node_version ?? "?")}, up ${duration(Number(server.uptime_s) || 0)}`,
    `${paint(plural(states.length, "plugin"), "bold")}${summary ? `: ${summary}` : ""}`,
    ...states.map((p) => {
      const state = paint(p.status.padEnd(stateWidth), stateColour(p.status));
      return `  ${p.id.padEnd(idWidth)}  ${state}${p.reason ? `  ${paint(p.reason, "dim")}` : ""}`.trimEnd();
    }),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** 3725 s → "1h 2m 5s". */
function duration(totalSeconds: number): string {
  const s = Math.floor(totalSeconds);
  const parts = [
    [Math.floor(s / 86400), "d"],
    [Math.floor((s % 86400) / 3600), "h"],
    [Math.floor((s % 3600) / 60), "m"],
    [s % 60, "s"],
  ] as const;
  const shown = parts.filter(([n], i) => n > 0 || i === parts.length - 1);
  return shown.map(([n, unit]) => `${n}${unit}`).join(" ");
}
