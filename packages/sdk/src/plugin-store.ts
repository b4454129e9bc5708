/**
 * `this.store` (SPEC §3.4, §4.5): the plugin's persistent key-value store, one SQLite file (`data/store.sqlite`)
 * opened in the plugin process on first use. WAL with `synchronous = FULL`: a write that returned `Ok` is in the
 * log on disk, so it survives `kill -9` of the plugin or the host (and a power cut). Docs: docs/store-and-memory.md.
 */
import fs from "node:fs";
import path from "node:path";
import type Database from "better-sqlite3";
import { ErrorCode, findJsonProblem, type JsonValue } from "@neko/protocol";
import { SdkError, ValidationError } from "./errors.ts";
import { Err, Ok, type Result } from "./result.ts";
import { openSqliteFile } from "./sqlite-file.ts";

export const MAX_STORE_KEY_LENGTH = 512;
/** The JSON text of one value, in UTF-8 bytes. */
export const MAX_STORE_VALUE_BYTES = 16 * 1024 * 1024;
export const STORE_FILE_NAME = "store.sqlite";

/** `[plugin.store] enabled` of a manifest (a plugin's or an extension's); on unless it says false. */
export function storeEnabled(metadata: Record<string, unknown>): boolean {
  const plugin = metadata.plugin as { store?: { enabled?: unknown } } | undefined;
  return plugin?.store?.enabled !== false;
}

/**
 * A path under `dataDir` (created on first use); one that would leave it throws a `RangeError` naming `owner`'s data
 * folder. The `dataPath` of a plugin and of an extension.
 */
export function dataPathUnder(dataDir: string, parts: string[], owner: string): string {
  fs.mkdirSync(dataDir, { recursive: true });
  const target = path.resolve(dataDir, ...parts);
  if (target !== dataDir && !target.startsWith(dataDir + path.sep)) {
    throw new RangeError(`dataPath: '${parts.join("/")}' leaves the ${owner}'s data folder`);
  }
  return target;
}

export interface PluginStoreOptions {
  pluginId: string;
  /** The plugin's data folder; created when the store is first used. */
  dataDir: string;
  /** `[plugin.store] enabled` from the manifest. */
  enabled: boolean;
  /** The file in `dataDir`; `store.sqlite` unless given (`this.db.kv` keeps its table in the plugin's database). */
  fileName?: string;
  /** The table of keys and values; `kv` unless given. */
  table?: string;
  /** How messages name it: `store` unless given (`db.kv`). */
  label?: string;
  /** The sentence of the Err answered when `enabled` is false. */
  disabledMessage?: string;
  /**
   * An already-open database to keep the table in, asked on each use (`this.db.kv` runs on the connection of
   * `this.db.sql`, so a transaction begun there includes its writes and never waits for them). The store then neither
   * opens nor closes a file of its own.
   */
  connection?: () => Database.Database;
}

interface Statements {
  get: Database.Statement<[string], { value: string }>;
  set: Database.Statement<[string, string, number]>;
  delete: Database.Statement<[string]>;
  exists: Database.Statement<[string], { one: number }>;
  keys: Database.Statement<[{ prefix: string }], { key: string }>;
  count: Database.Statement<[], { n: number }>;
  clear: Database.Statement<[]>;
}

export class PluginStore {
  private db: Database.Database | undefined;
  private statements: Statements | undefined;
  private readonly closeOnExit = () => this.close();
  /** Set by `dispose`: the store is closed for good (its owner, an extension, was taken out). */
  private disposedBecause: string | undefined;

  constructor(private readonly options: PluginStoreOptions) {}

  /**
   * Closes the database for good: later calls answer `Err` (`STORE_ERROR`) with `reason` instead of opening it
   * again, so code still running after its owner went cannot leak a handle.
   */
  dispose(reason: string): void {
    this.disposedBecause = reason;
    this.close();
  }

  /** The SQLite file behind the store. */
  get file(): string {
    return path.join(this.options.dataDir, this.options.fileName ?? STORE_FILE_NAME);
  }

  /**
   * The value stored under `key`, or `defaultValue` (null unless given) when there is none. With a default the value
   * has the default's type (`get("total", 0)`: a number; `get<string[]>("tags", [])` for an empty array); the store
   * keeps what was set, so that type is the caller's word, as `T` is without one.
   */
  async get<T = JsonValue>(key: string): Promise<Result<T | null, SdkError>>;
  async get<T>(key: string, defaultValue: T): Promise<Result<T, SdkError>>;
  async get<T>(key: string, defaultValue: T | null = null): Promise<Result<T | null, SdkError>> {
    return this.run(key, (s) => {
      const row = s.get.get(key);
      return row ? (JSON.parse(row.value) as T) : defaultValue;
    });
  }

  /** Stores a JSON-compatible value; anything else (a Date, NaN, undefined, a cycle, …) is a `ValidationError`. */
  async set(key: string, value: unknown): Promise<Result<undefined, SdkError>> {
    const problem = findJsonProblem(value);
    if (problem) {
      return Err(
        new ValidationError(
          `${this.label}: the value for key '${key}' is not JSON-compatible: ${problem.path} is ${problem.problem}`,
          { details: { key, path: problem.path, problem: problem.problem } },
        ),
      );
    }
    const text = JSON.stringify(value);
    const bytes = Buffer.byteLength(text);
    if (bytes > MAX_STORE_VALUE_BYTES) {
      return Err(
        new ValidationError(
          `${this.label}: the value for key '${key}' is ${bytes} bytes of JSON; the limit is ${MAX_STORE_VALUE_BYTES}`,
          { details: { key, bytes, limit: MAX_STORE_VALUE_BYTES } },
        ),
      );
    }
    return this.run(key, (s) => {
      s.set.run(key, text, Date.now());
      return undefined;
    });
  }

  /** True when there was a value to delete. */
  async delete(key: string): Promise<Result<boolean, SdkError>> {
    return this.run(key, (s) => s.delete.run(key).changes > 0);
  }

  async exists(key: string): Promise<Result<boolean, SdkError>> {
    return this.run(key, (s) => s.exists.get(key) !== undefined);
  }

  /** Every key starting with `prefix` (all keys when it is empty), sorted. */
  async keys(prefix = ""): Promise<Result<string[], SdkError>> {
    if (typeof prefix !== "string" || prefix.length > MAX_STORE_KEY_LENGTH) {
      return Err(
        new ValidationError(
          `${this.label}: the key prefix must be a string of at most ${MAX_STORE_KEY_LENGTH} characters`,
        ),
      );
    }
    return this.run(undefined, (s) => s.keys.all({ prefix }).map((row) => row.key));
  }

  /** Removes every key; answers how many there were. */
  async clear(): Promise<Result<number, SdkError>> {
    return this.run(undefined, (s) => s.clear.run().changes);
  }

  async count(): Promise<Result<number, SdkError>> {
    return this.run(undefined, (s) => s.count.get()?.n ?? 0);
  }

  /**
   * Closes the database (checkpointing the log); the next call opens it again. Runs by itself at process exit. A
   * store on a given `connection` only forgets its statements: the connection is its owner's to close.
   */
  close(): void {
    process.off("exit", this.closeOnExit);
    const db = this.db;
    this.db = undefined;
    this.statements = undefined;
    if (db?.open && this.options.connection === undefined) db.close();
  }

  /** Checks the key, opens the database if needed and runs `op`; a SQLite failure is an Err, never a throw. */
  private run<T>(key: string | undefined, op: (s: Statements) => T): Result<T, SdkError> {
    if (!this.options.enabled) {
      return Err(
        new SdkError(
          this.options.disabledMessage ??
            `the store of plugin '${this.options.pluginId}' is disabled ([plugin.store] enabled = false in plugin.toml)`,
          { code: ErrorCode.StoreDisabled },
        ),
      );
    }
    if (this.disposedBecause !== undefined) {
      return Err(
        new SdkError(`${this.label}: ${this.disposedBecause}`, {
          code: ErrorCode.StoreFailed,
          details: { file: this.file },
        }),
      );
    }
    if (key !== undefined) {
      const problem = keyProblem(key);
      if (problem) return Err(new ValidationError(`${this.label}: ${problem}`, { details: { key } }));
    }
    try {
      return Ok(op(this.open()));
    } catch (error) {
      return Err(
        new SdkError(`${this.label}: ${key === undefined ? "" : `key '${key}': `}${(error as Error).message}`, {
          code: ErrorCode.StoreFailed,
          details: { file: this.file },
        }),
      );
    }
  }

  private get label(): string {
    return this.options.label ?? "store";
  }

  private open(): Statements {
    const given = this.options.connection?.();
    if (this.statements && this.db?.open && (given === undefined || given === this.db)) return this.statements;
    this.statements = undefined;
    const db = given ?? openSqliteFile(this.file);
    try {
      // The table name is one of two constants (`kv`, `_kv_store`), never the caller's text.
      const kv = this.options.table ?? "kv";
      db.exec(
        `CREATE TABLE IF NOT EXISTS ${kv} (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID`,
      );
      this.statements = {
        get: db.prepare(`SELECT value FROM ${kv} WHERE key = ?`),
        set: db.prepare(
          `INSERT INTO ${kv} (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        ),
        delete: db.prepare(`DELETE FROM ${kv} WHERE key = ?`),
        exists: db.prepare(`SELECT 1 AS one FROM ${kv} WHERE key = ?`),
        // `key >= prefix` lets the primary key index start at the prefix; substr compares in SQLite's own characters.
        keys: db.prepare(
          `SELECT key FROM ${kv} WHERE key >= @prefix AND substr(key, 1, length(@prefix)) = @prefix ORDER BY key`,
        ),
        count: db.prepare(`SELECT count(*) AS n FROM ${kv}`),
        clear: db.prepare(`DELETE FROM ${kv}`),
      };
    } catch (error) {
      if (given === undefined) db.close();
      throw error;
    }
    this.db = db;
    if (given === undefined) process.on("exit", this.closeOnExit);
    return this.statements;
  }
}

function keyProblem(key: unknown): string | undefined {
  if (typeof key !== "string") return `a key must be a string, not ${key === null ? "null" : typeof key}`;
  if (key.length === 0) return "a key cannot be empty";
  if (/[\uD800-\uDFFF]/u.test(key)) return "a key must be valid Unicode text (it has a lone surrogate)";
  if (key.length > MAX_STORE_KEY_LENGTH) {
    return `the key '${key.slice(0, 40)}…' is ${key.length} characters long; the limit is ${MAX_STORE_KEY_LENGTH}`;
  }
  return undefined;
}
