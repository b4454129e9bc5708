/**
 * Writes a file so that readers (and a crash at any moment) see either the old content or the new, never a mix:
 * the text goes to a temporary file beside the target, is flushed to disk, and is renamed over the target. Node 20's
 * permission model refuses `fsync` to a plugin process outright, so there the file is opened `O_SYNC` instead: each
 * write returns once it is on disk, which is what the fsync was for.
 * Shared by the plugin process (freeze state) and the host (plugin.toml, profiles.toml), which imports it as
 * `@neko/plugin-sdk/atomic-write`.
 */
import fs from "node:fs";
import path from "node:path";
import { nodeCrypto } from "@neko/protocol";

/** Open flags for a file written straight through to the disk; O_SYNC is POSIX only. */
const { O_WRONLY, O_CREAT, O_TRUNC, O_SYNC } = fs.constants;
const SYNC_WRITE = O_SYNC === undefined ? undefined : O_WRONLY | O_CREAT | O_TRUNC | O_SYNC;

export function writeFileAtomic(target: string, text: string): void {
  const dir = path.dirname(target);
  fs.mkdirSync(dir, { recursive: true });
  const temp = path.join(
    dir,
    `.${path.basename(target)}.${process.pid}.${nodeCrypto().randomBytes(4).toString("hex")}.tmp`,
  );
  // A rewritten manifest keeps the permissions the user gave the original.
  const mode = existingMode(target);
  const synchronous = process.permission !== undefined && SYNC_WRITE !== undefined;
  const fd = fs.openSync(temp, synchronous ? SYNC_WRITE : "w", mode ?? 0o644);
  try {
    fs.writeFileSync(fd, text);
    if (!synchronous) fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  try {
    if (mode !== undefined) fs.chmodSync(temp, mode);
    fs.renameSync(temp, target);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

function existingMode(target: string): number | undefined {
  try {
    return fs.statSync(target).mode & 0o777;
  } catch {
    return undefined;
  }
}
