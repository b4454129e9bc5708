/**
 * The file in a plugin's data folder that holds its freezable fields (SPEC §4.6). The plugin process writes it (on
 * freeze, and after calls with `persist_mode = "auto"` or `"manual"`); the host only reads the `frozen` mark
 * (`isFrozenOnDisk`, through `@neko/plugin-sdk/frozen-state-file`), so a plugin frozen before a host restart stays
 * frozen.
 */
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../atomic-write.ts";

export const FROZEN_STATE_FILE = ".neko-state.json";

export interface FrozenStateFile {
  version: 1;
  /** True from a freeze until the unfreeze that restores it. */
  frozen: boolean;
  /** ISO time of the save. */
  savedAt: string;
  /** Field name → value in the form of `encodeState`. */
  fields: Record<string, unknown>;
}

export function frozenStatePath(dataDir: string): string {
  return path.join(dataDir, FROZEN_STATE_FILE);
}

/** The saved state; undefined when there is none; throws when the file is unreadable or not a state file. */
export function readFrozenStateFile(dataDir: string): FrozenStateFile | undefined {
  let text: string;
  try {
    text = fs.readFileSync(frozenStatePath(dataDir), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<FrozenStateFile>;
  if (parsed?.version !== 1 || typeof parsed.fields !== "object" || parsed.fields === null) {
    throw new TypeError(`${FROZEN_STATE_FILE} is not a state file of this SDK (version ${String(parsed?.version)})`);
  }
  return parsed as FrozenStateFile;
}

export function writeFrozenStateFile(dataDir: string, state: FrozenStateFile): void {
  writeFileAtomic(frozenStatePath(dataDir), `${JSON.stringify(state, null, 2)}\n`);
}

/** True when the plugin's data folder holds a state saved by a freeze not yet undone. Never throws. */
export function isFrozenOnDisk(dataDir: string): boolean {
  try {
    return readFrozenStateFile(dataDir)?.frozen === true;
  } catch {
    return false;
  }
}
