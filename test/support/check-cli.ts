/** `neko-plugin check` run as a user runs it, for the e2e tests of the command, and the plugin code they break. */
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../packages/cli/bin/neko-plugin.js");

export interface CheckOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `neko-plugin check …` with output piped (so no colour, no progress lines); `env` adds to its few variables. */
export function runCheck(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, "check", ...args],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, ...env }, timeout: 100_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export const CHECK_IMPORTS = 'import { NekoPluginBase, nekoPlugin, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";';

/** A plugin's index.ts: the imports, then `body` (by default a class `TestPlugin` that passes). */
export function checkPluginCode(body?: string): string {
  return `${CHECK_IMPORTS}\n${
    body ??
    `
@nekoPlugin
export class TestPlugin extends NekoPluginBase {
  @pluginEntry({ id: "ping", inputSchema: { type: "object", properties: { n: { type: "number" } } } })
  ping() {
    return Ok("pong");
  }
}
`
  }`;
}
