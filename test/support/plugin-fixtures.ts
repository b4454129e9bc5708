/** Writes throwaway plugins into temporary folders outside the repository, for tests. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const EXAMPLES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../plugins");

/** Copies example plugins from the repository's plugins/ into `root` (without their data/), so tests never write there. */
export function copyExamplePlugins(root: string, ids: string[]): void {
  for (const id of ids) {
    fs.cpSync(path.join(EXAMPLES_DIR, id), path.join(root, id), {
      recursive: true,
      filter: (src) => path.basename(src) !== "data",
    });
  }
}

export function makeTempDir(prefix = "neko-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface PluginFixture {
  id: string;
  /** Folder name; defaults to the id. */
  folder?: string;
  /** Full plugin.toml text; default: a minimal manifest for `index.ts:<className>`. */
  manifest?: string;
  className?: string;
  /** index.ts source. */
  code?: string;
  files?: Record<string, string>;
}

export function writePlugin(root: string, fixture: PluginFixture): string {
  const dir = path.join(root, fixture.folder ?? fixture.id);
  fs.mkdirSync(dir, { recursive: true });
  const className = fixture.className ?? "TestPlugin";
  const manifest = fixture.manifest ?? `[plugin]\nid = "${fixture.id}"\nentry = "index.ts:${className}"\n`;
  fs.writeFileSync(path.join(dir, "plugin.toml"), manifest);
  if (fixture.code !== undefined) fs.writeFileSync(path.join(dir, "index.ts"), fixture.code);
  for (const [name, text] of Object.entries(fixture.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/** True while a process with that pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor<T>(probe: () => T | Promise<T>, options: { timeoutMs?: number; what?: string } = {}) {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? "a condition"}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every process `pid` started, and theirs, recursively (Linux: /proc/<pid>/task/<tid>/children); [] elsewhere. */
export function descendantPids(pid: number): number[] {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children = tids.flatMap((tid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(" ").filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
  return children.flatMap((child) => [child, ...descendantPids(child)]);
}
