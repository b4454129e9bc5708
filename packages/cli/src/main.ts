/** `neko-plugin`: one binary, one sub-command per file under commands/ (SPEC §6). */
import { Command } from "commander";
import { HOST_VERSION } from "@neko/host";
import { registerBuildCommand } from "./commands/build-command.ts";
import { registerCheckCommand } from "./commands/check-command.ts";
import { registerClientCommands } from "./commands/client-commands.ts";
import { registerDevCommand } from "./commands/dev-command.ts";
import { registerInitCommand } from "./commands/init-command.ts";
import { registerInstallCommand } from "./commands/install-command.ts";
import { registerKeysCommand } from "./commands/keys-command.ts";
import { registerMcpCommand } from "./commands/mcp-command.ts";
import { registerServeCommand } from "./commands/serve-command.ts";
import { registerTestCommand } from "./commands/test-command.ts";
import { registerWorkerCommand } from "./commands/worker-command.ts";

const program = new Command()
  .name("neko-plugin")
  .description("neko-plugin: TypeScript plugins, each in its own process, behind an HTTP plugin server")
  .version(HOST_VERSION);

registerServeCommand(program);
registerKeysCommand(program);
registerWorkerCommand(program);
registerMcpCommand(program);
registerClientCommands(program);
registerCheckCommand(program);
registerDevCommand(program);
registerBuildCommand(program);
registerInstallCommand(program);
registerInitCommand(program);
registerTestCommand(program);

await program.parseAsync(process.argv);
