/**
 * `this.db`: the plugin's own SQLite database, the original's `PluginDatabase` (`[plugin.database]`). One file in the
 * plugin's `data/` folder (`<plugin id>.db` unless `name` says otherwise), opened in the plugin process on first use
 * (better-sqlite3 is loaded then, so a plugin that never uses it never pays for it), WAL with `synchronous = FULL` (a
 * statement that answered `Ok` survives `kill -9` and a power cut), closed when the process ends. `kv` is a key-value
 * table in it (`_kv_store`, the store's API); `sql` / `query` run the plugin's own SQL. Every failure is an `Err`,
 * never a throw. Docs: docs/store-and-memory.md.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type Database from "better-sqlite3";
import { ErrorCode } from "@neko/protocol";
import { SdkError, ValidationError } from "./errors.ts";
import { PluginStore } from "./plugin-store.ts";
import { Err, Ok, type Result } from "./result.ts";

/** The key-value table inside the plugin's database, as the original names it. */
export const DATABASE_KV_TABLE = "_kv_store";
/** A statement's text longer than this is refused (it is the plugin's own code, but a runaway string is a bug). */
export const MAX_SQL_LENGTH = 1024 * 1024;

const require = createRequire(import.meta.url);

/** A value SQLite takes as a parameter: booleans become 1 / 0. */
export type SqlValue = null | number | bigint | string | boolean | Uint8Array;
/** Positional (`?`) or named (`@name`, `:name`, `$name`) parameters. */
export type SqlParams = SqlValue[] | Record<string, SqlValue>;
export type SqlRow = Record<string, unknown>;

export interface PluginDatabaseOptions {
  pluginId: string;
  dataDir: string;
  /** `[plugin.database] enabled`. */
  enabled: boolean;
  /** `[plugin.database] name`: a plain file name inside `dataDir`. */
  name: string;
}

/** `[plugin.database]` of a manifest: on unless `enabled = false`; the file `<plugin id>.db` unless `name` is given. */
export function databaseOptions(
  metadata: Record<string, unknown>,
  pluginId: string,
): { enabled: boolean; name: string } {
  const plugin = metadata.plugin as { database?: { enabled?: unknown; name?: unknown } } | undefined;
  const name = plugin?.database?.name;
  return {
    enabled: plugin?.database?.enabled !== false,
    name: typeof name === "string" ? name : `${pluginId}.db`,
  };
}

export class PluginDatabase {
  /** The key-value table `_kv_store` in this database: `get(key, default)`, `set`, `delete`, `exists`, `keys(prefix)`, `clear`, `count`. */
  readonly kv: PluginStore;
  private db: Database.Database | undefined;
  private readonly closeOnExit = () => this.close();

  constructor(private readonly options: PluginDatabaseOptions) {
    this.kv = new PluginStore({
      pluginId: options.pluginId,
      dataDir: options.dataDir,
      enabled: options.enabled && nameProblem(options.name) === undefined,
      fileName: options.name,
      table: DATABASE_KV_TABLE,
      label: "db.kv",
      disabledMessage: this.unusable() ?? "",
    });
  }

  /** The SQLite file: `data/<name>`. */
  get file(): string {
    return path.join(this.options.dataDir, this.options.name);
  }

  /**
   * Runs statements that change things (`CREATE TABLE`, `INSERT`, …): with `params`, one statement; without, the text
   * may hold several (a schema). Answers the rows changed and the last inserted rowid.
   */
  async sql(text: string, params?: SqlParams): Promise<Result<{ changes: number; lastInsertRowid: number }, SdkError>> {
    return this.run(text, params, (db) => {
      if (params === undefined && isSeveral(db, text)) {
        const before = db.prepare("SELECT total_changes() AS n").get() as { n: number };
        db.exec(text);
        const after = db.prepare("SELECT total_changes() AS n, last_insert_rowid() AS id").get() as {
          n: number;
          id: number;
        };
        return { changes: after.n - before.n, lastInsertRowid: after.id };
      }
      const statement = db.prepare(text);
      const info = params === undefined ? statement.run() : statement.run(bindable(params));
      return { changes: info.changes, lastInsertRowid: Number(info.lastInsertRowid) };
    });
  }

  /** Runs one statement that returns rows (`SELECT`, `… RETURNING`) and answers them, each an object by column. */
  async query<R extends SqlRow = SqlRow>(text: string, params?: SqlParams): Promise<Result<R[], SdkError>> {
    return this.run(text, params, (db) => {
      const statement = db.prepare(text);
      if (!statement.reader) throw new Error("the statement returns no rows; run it with db.sql");
      return (params === undefined ? statement.all() : statement.all(bindable(params))) as R[];
    });
  }

  /** Closes the database (and `kv`); the next call opens it again. Runs by itself when the process ends. */
  close(): void {
    process.off("exit", this.closeOnExit);
    this.kv.close();
    const db = this.db;
    this.db = undefined;
    if (db?.open) db.close();
  }

  /** Why the database cannot be used at all, or undefined. */
  private unusable(): string | undefined {
    if (!this.options.enabled) {
      return `the database of plugin '${this.options.pluginId}' is disabled ([plugin.database] enabled = false in plugin.toml)`;
    }
    const problem = nameProblem(this.options.name);
    return problem === undefined ? undefined : `db: [plugin.database].name ${problem}`;
  }

  private run<T>(text: string, params: SqlParams | undefined, op: (db: Database.Database) => T): Result<T, SdkError> {
    const unusable = this.unusable();
    if (unusable !== undefined) {
      const code = this.options.enabled ? ErrorCode.StoreFailed : ErrorCode.StoreDisabled;
      return Err(new SdkError(unusable, { code }));
    }
    if (typeof text !== "string" || text.trim() === "") {
      return Err(new ValidationError("db: the SQL must be a non-empty string"));
    }
    if (text.length > MAX_SQL_LENGTH) {
      return Err(new ValidationError(`db: the SQL is ${text.length} characters long; the limit is ${MAX_SQL_LENGTH}`));
    }
    const paramProblem = params === undefined ? undefined : paramsProblem(params);
    if (paramProblem !== undefined) return Err(new ValidationError(`db: ${paramProblem}`));
    try {
      return Ok(op(this.open()));
    } catch (error) {
      const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
      return Err(
        new SdkError(`db: ${(error as Error).message} (in: ${shown.trim()})`, {
          code: ErrorCode.StoreFailed,
          details: { file: this.file },
        }),
      );
    }
  }

  private open(): Database.Database {
    if (this.db?.open) return this.db;
    fs.mkdirSync(this.options.dataDir, { recursive: true });
    const SqliteDatabase: typeof Database = require("better-sqlite3");
    const db = new SqliteDatabase(this.file);
    try {
      db.pragma("journal_mode = WAL");
      // FULL: every commit syncs the log, so a statement that answered Ok survives kill -9 and a power cut.
      db.pragma("synchronous = FULL");
      db.pragma("busy_timeout = 5000");
      db.pragma("foreign_keys = ON");
    } catch (error) {
      db.close();
      throw error;
    }
    this.db = db;
    process.on("exit", this.closeOnExit);
    return db;
  }
}

/** Why `name` cannot be the database's file in `data/` (the host refuses such a manifest too), or undefined. */
function nameProblem(name: string): string | undefined {
  if (name.trim() === "" || name === ".") return "must be a file name";
  if (/[/\\]/.test(name) || name.includes("..")) return `'${name}' must be a plain file name inside data/`;
  return undefined;
}

/** True when `text` holds more than one statement (better-sqlite3's prepare takes exactly one). */
function isSeveral(db: Database.Database, text: string): boolean {
  try {
    db.prepare(text);
    return false;
  } catch (error) {
    return /more than one statement/i.test((error as Error).message);
  }
}

function paramsProblem(params: unknown): string | undefined {
  if (params === null || typeof params !== "object") return "params must be an array or an object";
  const values = Array.isArray(params) ? params : Object.values(params);
  const bad = values.findIndex(
    (v) => !(v === null || ["number", "bigint", "string", "boolean"].includes(typeof v) || v instanceof Uint8Array),
  );
  if (bad < 0) return undefined;
  const where = Array.isArray(params) ? `params[${bad}]` : `params.${Object.keys(params)[bad]}`;
  const value = values[bad];
  const kind = value === undefined ? "undefined" : value instanceof Date ? "a Date" : `a ${typeof value}`;
  return `${where} is ${kind}; SQLite takes null, numbers, bigints, strings, booleans and Uint8Array`;
}

function bindable(params: SqlParams): unknown[] | Record<string, unknown> {
  const convert = (v: SqlValue) => (typeof v === "boolean" ? (v ? 1 : 0) : v);
  return Array.isArray(params)
    ? params.map(convert)
    : Object.fromEntries(Object.entries(params).map(([k, v]) => [k, convert(v)]));
}
