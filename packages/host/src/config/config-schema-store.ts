/**
 * The last `configSchema` each plugin sent in its hello (docs/config.md#a-schema-for-the-configuration), compiled, and
 * kept in the host's data folder (`config-schemas/<id>.json`) so that the configuration of a plugin that has not run
 * since the host started is checked, and its form served, all the same. A plugin that sends no schema any more has
 * its file removed.
 */
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "@neko/plugin-sdk/atomic-write";
import {
  type ConfigValidator,
  compileConfigValidator,
  configSchemaProblem,
  MAX_CONFIG_SCHEMA_BYTES,
  type JsonSchemaObject,
} from "@neko/plugin-sdk/config-schema";

export interface KnownConfigSchema {
  json: JsonSchemaObject;
  validate: ConfigValidator;
}

export class ConfigSchemaStore {
  /** By plugin id; `null`: looked on disk and found none. */
  private readonly known = new Map<string, KnownConfigSchema | null>();

  constructor(
    private readonly dir: string,
    private readonly onProblem: (pluginId: string, problem: string) => void,
  ) {}

  /** The plugin's schema: the one its process sent, or the one kept from an earlier run; undefined if none. */
  get(pluginId: string): KnownConfigSchema | undefined {
    const cached = this.known.get(pluginId);
    if (cached !== undefined) return cached ?? undefined;
    const loaded = this.load(pluginId);
    this.known.set(pluginId, loaded ?? null);
    return loaded;
  }

  /**
   * Keeps `json` as the plugin's schema (checked with `configSchemaProblem` by the caller) and writes it down when it
   * changed; a schema the disk refuses is still used for this run (the problem is reported).
   */
  record(pluginId: string, json: JsonSchemaObject): KnownConfigSchema {
    const text = JSON.stringify(json);
    const current = this.get(pluginId);
    if (current && JSON.stringify(current.json) === text) return current;
    const known = { json, validate: compileConfigValidator(json) };
    this.known.set(pluginId, known);
    try {
      writeFileAtomic(this.fileOf(pluginId), text);
    } catch (error) {
      this.onProblem(pluginId, `could not keep its configSchema: ${(error as Error).message}`);
    }
    return known;
  }

  /** The plugin declares no schema (any more). */
  forget(pluginId: string): void {
    if (this.known.get(pluginId) === null) return;
    this.known.set(pluginId, null);
    try {
      fs.rmSync(this.fileOf(pluginId), { force: true });
    } catch (error) {
      this.onProblem(pluginId, `could not remove its kept configSchema: ${(error as Error).message}`);
    }
  }

  /** Drops what is held in memory for a plugin that left the host; its file stays for when it is back. */
  release(pluginId: string): void {
    this.known.delete(pluginId);
  }

  get size(): number {
    return this.known.size;
  }

  private load(pluginId: string): KnownConfigSchema | undefined {
    let json: unknown;
    try {
      json = JSON.parse(readKeptFile(this.fileOf(pluginId)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        this.onProblem(pluginId, `its kept configSchema cannot be read: ${(error as Error).message}`);
      }
      return undefined;
    }
    const problem = configSchemaProblem(json);
    if (problem) {
      this.onProblem(pluginId, `its kept configSchema ${problem}; it is ignored until the plugin sends one again`);
      return undefined;
    }
    return { json: json as JsonSchemaObject, validate: compileConfigValidator(json as JsonSchemaObject) };
  }

  /** Plugin ids are `^[a-zA-Z0-9_-]{1,128}$` (checked at discovery), so one names a file safely. */
  private fileOf(pluginId: string): string {
    return path.join(this.dir, `${pluginId}.json`);
  }
}

/**
 * The kept file's text: a regular file (not a link, a FIFO or a device, which could hang or flood the host) no larger
 * than a schema may be, opened without following a link.
 */
function readKeptFile(file: string): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new Error("it is not a regular file");
    if (stat.size > MAX_CONFIG_SCHEMA_BYTES) throw new Error(`it is larger than ${MAX_CONFIG_SCHEMA_BYTES} bytes`);
    return fs.readFileSync(fd, "utf8");
  } finally {
    fs.closeSync(fd);
  }
}
