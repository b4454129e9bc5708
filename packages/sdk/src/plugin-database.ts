/**
 * `this.db`: the plugin's own SQLite database, the original's `PluginDatabase` (`[plugin.database]`). One file in the
 * plugin's `data/` folder (`<plugin id>.db` unless `name` says otherwise), opened in the plugin process on first use
 * (better-sqlite3 is loaded then, so a plugin that never uses it never pays for it), WAL with `synchronous = FULL` (a
 * committed statement survives `kill -9` and a power cut), closed when the process ends. `kv` is a key-value table in
 * it (`_kv_store`, the store's API) on the same connection; `sql` / `query` run the plugin's own SQL, synchronously in
 * the plugin's event loop. Every failure is an `Err`, never a throw. Docs: docs/store-and-memory.md.
 */
import path from "node:path";
import type Database from "better-sqlite3";
import { ErrorCode } from "@neko/protocol";
import { databaseNameProblem } from "./database-name.ts";
import { SdkError, ValidationError } from "./errors.ts";
import { PluginStore } from "./plugin-store.ts";
import { Err, Ok, type Result } from "./result.ts";
import { type SqlToken, sqlStatements } from "./sql-statements.ts";
import { openSqliteFile } from "./sqlite-file.ts";

/** The key-value table inside the plugin's database, as the original names it. */
export const DATABASE_KV_TABLE = "_kv_store";
/** A statement's text longer than this is refused (it is the plugin's own code, but a runaway string is a bug). */
export const MAX_SQL_LENGTH = 1024 * 1024;
/** The rows `db.query` answers at most unless its `limit` option says otherwise. */
export const DEFAULT_QUERY_ROW_LIMIT = 10_000;
/**
 * Pragmas `db.sql` / `db.query` may read but not set: they would break the durability promise (`synchronous`,
 * `journal_mode`, `locking_mode`), let a schema run side effects (`trusted_schema`, `writable_schema`) or put files
 * outside `data/` (`temp_store_directory`, `data_store_directory`).
 */
export const READ_ONLY_PRAGMAS = [
  "synchronous",
  "journal_mode",
  "locking_mode",
  "trusted_schema",
  "writable_schema",
  "temp_store_directory",
  "data_store_directory",
] as const;
const TRANSACTION_WORDS = new Set(["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"]);
const SCRIPT_SAVEPOINT = "neko_db_sql";

export interface QueryOptions {
  /** The most rows answered: more is an `Err` naming the limit (`DEFAULT_QUERY_ROW_LIMIT` unless given). */
  limit?: number;
  /** Integer columns come back as `bigint` (exact past 2^53) instead of `number` (rounded there). */
  safeIntegers?: boolean;
}

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
      enabled: options.enabled && databaseNameProblem(options.name) === undefined,
      fileName: options.name,
      table: DATABASE_KV_TABLE,
      label: "db.kv",
      disabledMessage: this.unusable() ?? "",
      connection: () => this.open(),
    });
  }

  /** The SQLite file: `data/<name>`. */
  get file(): string {
    return path.join(this.options.dataDir, this.options.name);
  }

  /**
   * Runs statements that change things (`CREATE TABLE`, `INSERT`, …): with `params`, one statement; without, the text
   * may hold several (a schema), run all or nothing (inside a savepoint: a failing statement undoes the ones before
   * it). A script with its own `BEGIN` / `COMMIT` / `ROLLBACK` / `SAVEPOINT` / `RELEASE`, or a `VACUUM`, is run as it
   * is. Answers the rows changed and the last inserted rowid.
   */
  async sql(text: string, params?: SqlParams): Promise<Result<{ changes: number; lastInsertRowid: number }, SdkError>> {
    return this.run(text, params, (db, statements) => {
      if (params === undefined && statements.length > 1) {
        const before = db.prepare("SELECT total_changes() AS n").get() as { n: number };
        if (statements.some(runsAlone)) db.exec(text);
        else runAtomically(db, text);
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

  /**
   * Runs one statement that returns rows (`SELECT`, `… RETURNING`) and answers them, each an object by column. More
   * than `options.limit` rows (10 000 unless given) is an `Err` naming the limit: page with `LIMIT` / `OFFSET`.
   */
  async query<R extends SqlRow = SqlRow>(
    text: string,
    params?: SqlParams,
    options: QueryOptions = {},
  ): Promise<Result<R[], SdkError>> {
    const limit = options.limit ?? DEFAULT_QUERY_ROW_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      return Err(new ValidationError(`db: options.limit must be a positive integer, not ${String(limit)}`));
    }
    return this.run(text, params, (db) => {
      const statement = db.prepare(text);
      if (!statement.reader) throw new Error("the statement returns no rows; run it with db.sql");
      statement.safeIntegers(options.safeIntegers === true);
      const rows: R[] = [];
      const iterator = (
        params === undefined ? statement.iterate() : statement.iterate(bindable(params))
      ) as IterableIterator<R>;
      for (const row of iterator) {
        if (rows.length === limit) {
          iterator.return?.();
          throw new Error(
            `the query answers more than ${limit} rows (options.limit); page it with LIMIT / OFFSET or raise the limit`,
          );
        }
        rows.push(row);
      }
      return rows;
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
    const problem = databaseNameProblem(this.options.name);
    return problem === undefined ? undefined : `db: [plugin.database].name ${problem}`;
  }

  private run<T>(
    text: string,
    params: SqlParams | undefined,
    op: (db: Database.Database, statements: SqlToken[][]) => T,
  ): Result<T, SdkError> {
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
    const statements = sqlStatements(text);
    const refused = statements.map(refusal).find((reason) => reason !== undefined);
    if (refused !== undefined) return Err(new ValidationError(`db: ${refused}`, { details: { file: this.file } }));
    try {
      return Ok(op(this.open(), statements));
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
    const db = openSqliteFile(this.file);
    try {
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

/** Why `statement` is not run (it would reach past the plugin's file or weaken its guarantees), or undefined. */
function refusal(statement: SqlToken[]): string | undefined {
  let tokens = statement;
  if (tokens[0]?.text === "EXPLAIN") tokens = tokens.slice(tokens[1]?.text === "QUERY" ? 3 : 1);
  const word = (i: number) => (tokens[i] === undefined || tokens[i].quoted ? undefined : tokens[i].text);
  const first = word(0);
  if (first === "ATTACH" || first === "DETACH") {
    return `${first} is refused: this.db is the plugin's one file in data/ (another database file is not opened through it)`;
  }
  if (first === "VACUUM" && tokens.some((t) => !t.quoted && t.text === "INTO")) {
    return "VACUUM INTO is refused: it writes a copy of the database to another file";
  }
  if (first === "PRAGMA") {
    const nameAt = tokens[2]?.text === "." ? 3 : 1;
    const name = tokens[nameAt]?.text.toLowerCase();
    const sets = tokens[nameAt + 1]?.text === "=" || tokens[nameAt + 1]?.text === "(";
    if (sets && READ_ONLY_PRAGMAS.includes(name as (typeof READ_ONLY_PRAGMAS)[number])) {
      return `PRAGMA ${name} cannot be set through this.db (it is read-only there: ${READ_ONLY_PRAGMAS.join(", ")})`;
    }
  }
  return undefined;
}

/** A statement a savepoint cannot wrap: transaction control of the script's own, or VACUUM. */
function runsAlone(statement: SqlToken[]): boolean {
  const first = statement[0];
  return first !== undefined && !first.quoted && (TRANSACTION_WORDS.has(first.text) || first.text === "VACUUM");
}

/** Runs a script all or nothing: a statement that fails undoes the ones before it. */
function runAtomically(db: Database.Database, text: string): void {
  db.exec(`SAVEPOINT ${SCRIPT_SAVEPOINT}`);
  try {
    db.exec(text);
  } catch (error) {
    try {
      db.exec(`ROLLBACK TO ${SCRIPT_SAVEPOINT}`);
      db.exec(`RELEASE ${SCRIPT_SAVEPOINT}`);
    } catch {
      // SQLite already rolled the whole transaction back (ON CONFLICT ROLLBACK, a full disk): nothing is left to undo.
    }
    throw error;
  }
  db.exec(`RELEASE ${SCRIPT_SAVEPOINT}`);
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
