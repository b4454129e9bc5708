/**
 * Opens one SQLite file in a plugin's `data/` folder the way `this.store` and `this.db` both need it: never through a
 * symbolic link (a link planted in `data/` would send the writes, and SQLite's `-wal` / `-shm` files, elsewhere),
 * WAL with `synchronous = FULL` (a commit is on disk when it answers), a 5 s busy timeout, better-sqlite3's unsafe mode
 * off and `trusted_schema = OFF` (a schema written by someone else cannot run functions with side effects).
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type Database from "better-sqlite3";

// better-sqlite3 is required on first use, so a plugin process that never opens a database never loads it.
const require = createRequire(import.meta.url);

/** The files SQLite keeps beside a database in WAL mode (and the rollback journal of other modes). */
export const SQLITE_SIDE_FILES = ["-wal", "-shm", "-journal"] as const;

/** Opens (creating if needed) `file`; throws when it, or a side file, is a symbolic link or not a regular file. */
export function openSqliteFile(file: string): Database.Database {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (const candidate of [file, ...SQLITE_SIDE_FILES.map((suffix) => file + suffix)]) {
    const problem = notPlainFile(candidate);
    if (problem !== undefined) throw new Error(`${path.basename(candidate)} in data/ ${problem}; it is not opened`);
  }
  const SqliteDatabase: typeof Database = require("better-sqlite3");
  const db = new SqliteDatabase(file);
  try {
    db.unsafeMode(false);
    db.pragma("journal_mode = WAL");
    // FULL: every commit syncs the log, so a committed write survives kill -9 and a power cut.
    db.pragma("synchronous = FULL");
    db.pragma("busy_timeout = 5000");
    db.pragma("trusted_schema = OFF");
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

function notPlainFile(file: string): string | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  if (stat.isSymbolicLink()) return "is a symbolic link";
  if (!stat.isFile()) return "is not a regular file";
  return undefined;
}
