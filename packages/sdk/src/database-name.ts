/**
 * Which `[plugin.database] name` may be the plugin's SQLite file in its `data/` folder: one rule, shared by the host
 * (a manifest with a bad name is refused) and the plugin process (`this.db` answers Err), imported by the host as
 * `@neko/plugin-sdk/database-name`. The files other parts of the framework keep in `data/` are reserved.
 */
import { STORE_FILE_NAME } from "./plugin-store.ts";
import { FROZEN_STATE_FILE } from "./runtime/frozen-state-file.ts";

/** The longest name taken. */
export const MAX_DATABASE_NAME_LENGTH = 200;

/**
 * Files and folders in `data/` that belong to the framework, each with what it is: a name equal to one (or, with
 * `prefix`, starting with it: SQLite's `-wal` / `-shm` / `-journal`, the freezer's temporary files) is refused.
 */
export const RESERVED_DATA_NAMES: ReadonlyArray<{ name: string; prefix?: string; what: string }> = [
  { name: STORE_FILE_NAME, prefix: `${STORE_FILE_NAME}-`, what: "the store's file (this.store)" },
  { name: FROZEN_STATE_FILE, prefix: `${FROZEN_STATE_FILE}.`, what: "the frozen-state file (freeze / persist_mode)" },
  { name: "logs", what: "the folder of this.fileLogger's files" },
];

/**
 * The form a name is compared in: NFC, lower case, without trailing dots and spaces (a case-insensitive file system,
 * and Windows, read `.Neko-State.JSON.` as `.neko-state.json`).
 */
export function comparableName(name: string): string {
  return name
    .normalize("NFC")
    .replace(/[. ]+$/, "")
    .toLowerCase();
}

/** Why `name` cannot be the database's file name in `data/`, or undefined. */
export function databaseNameProblem(name: string): string | undefined {
  if (typeof name !== "string" || name.trim() === "") return "must be a file name, not empty";
  if (/[/\\]/.test(name)) return `'${name}' must be a plain file name inside data/, without '/' or '\\'`;
  if (name.includes("..")) return `'${name}' must not contain '..'`;
  if (name === ".") return "'.' is not a file name";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f]/.test(name)) return "must not contain control characters";
  if (name.length > MAX_DATABASE_NAME_LENGTH) {
    return `is ${name.length} characters long; the limit is ${MAX_DATABASE_NAME_LENGTH}`;
  }
  const compared = comparableName(name);
  if (compared === "") return `'${name}' is not a file name`;
  for (const reserved of RESERVED_DATA_NAMES) {
    if (compared === reserved.name || (reserved.prefix !== undefined && compared.startsWith(reserved.prefix))) {
      return `'${name}' is ${reserved.what}`;
    }
  }
  return undefined;
}
