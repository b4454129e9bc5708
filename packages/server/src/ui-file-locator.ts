/**
 * Turns the path of a `GET /plugin/{id}/ui/…` request into a file inside the plugin's UI folder, or says why not
 * (SPEC §8: no path escapes the folder). The path is split on `/` before any percent-decoding, so an encoded `%2F`
 * never becomes a separator; then each name is decoded and checked; then symbolic links are resolved and the real
 * path must still lie inside the folder's real path.
 */
import fs from "node:fs";
import path from "node:path";
import { hasControlCharacter, isPathInside } from "@neko/protocol";

export type UiFileLookup =
  /** A regular file; `path` is its real path. */
  | { kind: "file"; path: string }
  /** A folder asked for without its trailing slash: relative links in its index need one. */
  | { kind: "redirect"; location: string }
  /** The path tries to leave the folder, or to name something the UI never serves. */
  | { kind: "refused"; reason: string }
  | { kind: "missing"; reason: string };

export interface UiFileRequest {
  /** The UI folder's real path. */
  root: string;
  /** The request path after `/ui/`, still percent-encoded, without the query. */
  rawPath: string;
  indexFile: string;
}

export function locateUiFile({ root, rawPath, indexFile }: UiFileRequest): UiFileLookup {
  const rawNames = rawPath.split("/");
  const wantsFolder = rawNames.at(-1) === "";
  if (wantsFolder) rawNames.pop();
  const names: string[] = [];
  for (const raw of rawNames) {
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      return { kind: "refused", reason: `'${raw}' is not valid percent-encoding` };
    }
    const problem = nameProblem(name);
    if (problem) return { kind: "refused", reason: problem };
    names.push(name);
  }

  const found = realPathInside(root, path.join(root, ...names));
  if (found.kind !== "file") return found;
  const stat = fs.statSync(found.path, { throwIfNoEntry: false });
  if (!stat) return { kind: "missing", reason: "no such file" };
  if (stat.isDirectory()) {
    if (!wantsFolder) return { kind: "redirect", location: `${rawNames.at(-1)}/` };
    const index = realPathInside(root, path.join(found.path, indexFile));
    if (index.kind === "missing") return { kind: "missing", reason: `the folder has no ${indexFile}` };
    if (index.kind !== "file") return index;
    const indexIsFile = fs.statSync(index.path, { throwIfNoEntry: false })?.isFile();
    return indexIsFile ? index : { kind: "missing", reason: `${indexFile} is not a file` };
  }
  if (wantsFolder) return { kind: "missing", reason: "it is a file, not a folder" };
  if (!stat.isFile()) return { kind: "missing", reason: "it is not a regular file" };
  return found;
}

/** Why a decoded path name can never name a file the UI serves, or undefined. */
function nameProblem(name: string): string | undefined {
  if (name === "") return "the path has an empty name ('//')";
  if (name === "." || name === "..") return `'${name}' names are not allowed`;
  if (name.includes("/")) return "an encoded '/' (%2F) inside a name is not allowed";
  if (name.includes("\\")) return "a backslash is not allowed";
  if (hasControlCharacter(name)) return "control characters (NUL, newline, …) are not allowed";
  if (name.startsWith(".")) return "hidden names (starting with '.') are not served";
  return undefined;
}

/** The real path of `candidate` when it exists and stays inside `root`, without a hidden name below it. */
function realPathInside(root: string, candidate: string): UiFileLookup {
  let real: string;
  try {
    real = fs.realpathSync(candidate);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP") return { kind: "refused", reason: "the path runs into a loop of symbolic links" };
    return { kind: "missing", reason: code === "ENOENT" || code === "ENOTDIR" ? "no such file" : String(code) };
  }
  if (!isPathInside(root, real)) {
    return { kind: "refused", reason: "the path leads outside the UI folder through a symbolic link" };
  }
  if (
    path
      .relative(root, real)
      .split(path.sep)
      .some((name) => name.startsWith("."))
  ) {
    return { kind: "refused", reason: "the path leads to a hidden name through a symbolic link" };
  }
  return { kind: "file", path: real };
}
