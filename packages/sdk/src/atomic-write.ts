/**
 * Writes a file so that readers (and a crash at any moment) see either the old content or the new, never a mix:
 * the text goes to a temporary file beside the target, is flushed to disk, and is renamed over the target.
 * Shared by the plugin process (freeze state) and the host (plugin.toml, profiles.toml), which imports it as
 * `@neko/plugin-sdk/atomic-write`.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export function writeFileAtomic(target: string, text: string): void {
  const dir = path.dirname(target);
  fs.mkdirSync(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  // A rewritten manifest keeps the permissions the user gave the original.
  const mode = existingMode(target);
  const fd = fs.openSync(temp, "w", mode ?? 0o644);
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
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
