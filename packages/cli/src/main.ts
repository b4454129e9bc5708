/**
 * `neko-plugin`: one binary, one sub-command per file under commands/ (SPEC §6). Only the module of the command that
 * runs is loaded (all of them for the overall help), so `list` or `call` does not pay for starting a host's code.
 */
import { Command } from "commander";
import { HOST_VERSION } from "@neko/host/version";

type Register = (program: Command) => void;

const COMMANDS: Record<string, () => Promise<Register>> = {
  serve: async () => (await import("./commands/serve-command.ts")).registerServeCommand,
  keys: async () => (await import("./commands/keys-command.ts")).registerKeysCommand,
  worker: async () => (await import("./commands/worker-command.ts")).registerWorkerCommand,
  mcp: async () => (await import("./commands/mcp-command.ts")).registerMcpCommand,
  list: async () => (await import("./commands/client-commands.ts")).registerClientCommands,
  check: async () => (await import("./commands/check-command.ts")).registerCheckCommand,
  dev: async () => (await import("./commands/dev-command.ts")).registerDevCommand,
  build: async () => (await import("./commands/build-command.ts")).registerBuildCommand,
  install: async () => (await import("./commands/install-command.ts")).registerInstallCommand,
  init: async () => (await import("./commands/init-command.ts")).registerInitCommand,
  test: async () => (await import("./commands/test-command.ts")).registerTestCommand,
};
// One module registers several commands.
COMMANDS.call = COMMANDS.list;
COMMANDS.status = COMMANDS.list;

const program = new Command()
  .name("neko-plugin")
  .description("neko-plugin: TypeScript plugins, each in its own process, behind an HTTP plugin server")
  .version(HOST_VERSION);

/** The command named on the command line (`help <command>` names one too); undefined for none or an unknown one. */
function commandNamed(args: string[]): string | undefined {
  const words = args.filter((arg) => !arg.startsWith("-"));
  const name = words[0] === "help" ? words[1] : words[0];
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? name : undefined;
}

const args = process.argv.slice(2);
const named = commandNamed(args);
const versionOnly = args.length === 1 && (args[0] === "--version" || args[0] === "-V");
const wanted = named !== undefined ? [COMMANDS[named]] : versionOnly ? [] : [...new Set(Object.values(COMMANDS))];
for (const register of await Promise.all(wanted.map((load) => load()))) register(program);

await program.parseAsync(process.argv);
