/**
 * `static_ui.register`: the request behind `this.registerStaticUi(dir, { indexFile, cacheControl })` (SPEC §3.4).
 * The checks that need no disk live here, so the SDK refuses bad arguments without a host and the host refuses
 * them from a process that skips the SDK; the host then checks the folder itself.
 */
import path from "node:path";

/** The params of `static_ui.register`: every field present (the SDK fills in the defaults). */
export interface StaticUiRegistration {
  /** The UI folder, relative to the plugin folder, with `/` between names. */
  dir: string;
  /** The file served for a folder's URL (`…/ui/`, `…/ui/docs/`). */
  indexFile: string;
  /** The `Cache-Control` header of every file the UI serves. */
  cacheControl: string;
}

/** What a registration answers with, and what the server serves from. */
export interface StaticUiInfo {
  /** The URL path it is served at: `/plugin/<id>/ui/`. */
  path: string;
  /** The folder as the plugin named it, relative to the plugin folder. */
  dir: string;
  /** Its real path (symbolic links resolved), inside the plugin folder's real path. */
  root: string;
  indexFile: string;
  cacheControl: string;
}

export const STATIC_UI_DEFAULTS: StaticUiRegistration = {
  dir: "static",
  indexFile: "index.html",
  cacheControl: "no-cache",
};

const MAX_DIR_LENGTH = 1024;
const MAX_INDEX_FILE_LENGTH = 255;
const MAX_CACHE_CONTROL_LENGTH = 1024;

export interface StaticUiProblem {
  field: keyof StaticUiRegistration;
  message: string;
}

/** The first thing wrong with a registration, or undefined. */
export function staticUiRegistrationProblem(value: unknown): StaticUiProblem | undefined {
  if (typeof value !== "object" || value === null) {
    return { field: "dir", message: "the registration must be an object { dir, indexFile, cacheControl }" };
  }
  const { dir, indexFile, cacheControl } = value as Record<string, unknown>;
  return dirProblem(dir) ?? indexFileProblem(indexFile) ?? cacheControlProblem(cacheControl);
}

function dirProblem(dir: unknown): StaticUiProblem | undefined {
  const problem = (message: string): StaticUiProblem => ({ field: "dir", message });
  if (typeof dir !== "string" || dir === "") return problem("dir must be a non-empty string");
  if (dir.length > MAX_DIR_LENGTH) return problem(`dir is longer than ${MAX_DIR_LENGTH} characters`);
  if (hasControlCharacter(dir)) return problem("dir must not contain control characters (NUL, newline, …)");
  if (path.posix.isAbsolute(dir) || path.win32.isAbsolute(dir)) {
    return problem(`dir '${dir}' is an absolute path; give a folder relative to the plugin folder, e.g. "static"`);
  }
  if (dir.includes("\\")) return problem(`dir '${dir}' contains a backslash; separate folder names with '/'`);
  const normalized = path.posix.normalize(dir);
  if (normalized === ".." || normalized.startsWith("../")) {
    return problem(`dir '${dir}' escapes the plugin folder`);
  }
  if (normalized === "." || normalized === "./") {
    return problem("dir must be a folder inside the plugin folder, not the plugin folder itself");
  }
  const names = normalized.split("/").filter((name) => name !== "" && name !== ".");
  if (names.some((name) => name.startsWith("."))) {
    return problem(`dir '${dir}' is or is inside a hidden folder, whose files are never served`);
  }
  if (names[0] === "data" || names[0] === "node_modules") {
    return problem(
      `dir '${dir}' is inside '${names[0]}/', which holds the plugin's ${names[0] === "data" ? "runtime data (its store, its state)" : "dependencies"}`,
    );
  }
  return undefined;
}

function indexFileProblem(indexFile: unknown): StaticUiProblem | undefined {
  const problem = (message: string): StaticUiProblem => ({ field: "indexFile", message });
  if (typeof indexFile !== "string" || indexFile === "") return problem("indexFile must be a non-empty string");
  if (indexFile.length > MAX_INDEX_FILE_LENGTH) {
    return problem(`indexFile is longer than ${MAX_INDEX_FILE_LENGTH} characters`);
  }
  if (hasControlCharacter(indexFile) || /[/\\]/.test(indexFile) || indexFile.startsWith(".")) {
    return problem(`indexFile '${indexFile}' must be a plain file name, without '/', '\\' or a leading '.'`);
  }
  return undefined;
}

function cacheControlProblem(cacheControl: unknown): StaticUiProblem | undefined {
  const problem = (message: string): StaticUiProblem => ({ field: "cacheControl", message });
  if (typeof cacheControl !== "string" || cacheControl.trim() === "") {
    return problem('cacheControl must be a non-empty string, e.g. "no-cache" or "max-age=3600"');
  }
  if (cacheControl.length > MAX_CACHE_CONTROL_LENGTH) {
    return problem(`cacheControl is longer than ${MAX_CACHE_CONTROL_LENGTH} characters`);
  }
  // It becomes a header: anything but printable ASCII could split the response.
  if (!/^[\x20-\x7e]+$/.test(cacheControl)) {
    return problem("cacheControl may hold only printable ASCII characters (no newline)");
  }
  return undefined;
}

/** True when the text holds a C0 control character (NUL, newline, …) or DEL: never part of a file name we serve. */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
