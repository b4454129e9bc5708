/**
 * CURVE key pairs for remote workers (`neko-plugin keys`): made by libzmq, kept in a small TOML file readable only by
 * its owner. The host reads its own pair from one (`serve --key-file`), each worker its own (`worker --key-file`);
 * what is handed to the other side is only the public key.
 */
import fs from "node:fs";
import { parse } from "smol-toml";
import { curveKeyPair } from "zeromq";
import { z85Decode } from "../transport/z85.ts";

export interface CurveKeyPair {
  publicKey: string;
  secretKey: string;
}

export function makeKeyPair(): CurveKeyPair {
  const { publicKey, secretKey } = curveKeyPair();
  return { publicKey, secretKey };
}

export function keyFileText(keys: CurveKeyPair): string {
  return [
    "# A neko-plugin CURVE key pair (neko-plugin keys). Keep this file secret; hand out only the public key.",
    `public = "${keys.publicKey}"`,
    `secret = "${keys.secretKey}"`,
    "",
  ].join("\n");
}

/** Writes a new key file readable only by its owner; refuses to replace one (a worker or host would lose its key). */
export function writeKeyFile(file: string, keys: CurveKeyPair): void {
  fs.writeFileSync(file, keyFileText(keys), { mode: 0o600, flag: "wx" });
}

/** Reads a key file; throws naming the file and what is wrong with it. */
export function readKeyFile(file: string): CurveKeyPair {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(
      `cannot read the key file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  let table: Record<string, unknown>;
  try {
    table = parse(text);
  } catch (error) {
    throw new Error(`${file} is not a key file (TOML): ${(error as Error).message.split("\n")[0]}`);
  }
  const publicKey = table.public;
  const secretKey = table.secret;
  for (const [name, value] of [
    ["public", publicKey],
    ["secret", secretKey],
  ] as const) {
    if (typeof value !== "string" || value.length !== 40 || z85Decode(value)?.length !== 32) {
      throw new Error(`${file}: '${name}' is not a CURVE key (40 Z85 characters, as neko-plugin keys writes)`);
    }
  }
  const mode = fs.statSync(file).mode & 0o077;
  if (mode !== 0) {
    throw new Error(
      `${file} can be read by other users (mode ${(fs.statSync(file).mode & 0o777).toString(8)}): chmod 600 it`,
    );
  }
  return { publicKey: publicKey as string, secretKey: secretKey as string };
}
