/** `neko-plugin keys`: a CURVE key pair for a host or a remote worker (docs/workers.md). */
import type { Command } from "commander";
import { keyFileText, makeKeyPair, writeKeyFile } from "@neko/host";

interface KeysOptions {
  out?: string;
  json?: boolean;
}

export function registerKeysCommand(program: Command): void {
  program
    .command("keys")
    .description("make a CURVE key pair for remote workers (the host's or a worker's)")
    .option(
      "-o, --out <file>",
      "write the pair to this key file (mode 600; never replaces one) and print the public key",
    )
    .option("--json", "print { public, secret } (or { public, file }) as JSON")
    .addHelpText("after", "\nExamples:\n  $ neko-plugin keys --out host.key\n  $ neko-plugin keys --json")
    .action((options: KeysOptions) => keys(options));
}

function keys(options: KeysOptions): void {
  const pair = makeKeyPair();
  if (options.out) {
    try {
      writeKeyFile(options.out, pair);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === "EEXIST" ? "it exists already (a key file is never replaced)" : (error as Error).message;
      process.stderr.write(`neko-plugin keys: cannot write ${options.out}: ${why}\n`);
      process.exit(1);
    }
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ public: pair.publicKey, file: options.out })}\n`);
    } else {
      process.stdout.write(`wrote ${options.out}\npublic key: ${pair.publicKey}\n`);
    }
    return;
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ public: pair.publicKey, secret: pair.secretKey })}\n`);
    return;
  }
  process.stdout.write(keyFileText(pair));
}
