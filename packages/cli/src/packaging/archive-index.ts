/**
 * The `.neko-plugin` archive format (docs/packaging.md): a gzip'd tar whose first member, `neko-plugin.json`, names the
 * plugin and lists every other member with its size and SHA-256; the limits an archive must stay within; the rules
 * for a member path.
 */
import { posix } from "node:path";

export const ARCHIVE_FORMAT = "neko-plugin-archive/1";
export const ARCHIVE_INDEX_FILE = "neko-plugin.json";
export const ARCHIVE_EXTENSION = ".neko-plugin";
/** What an archive may unpack to; beyond it, it is refused as a zip bomb before anything is written. */
export const MAX_UNPACKED_BYTES = 256 * 1024 * 1024;
export const MAX_MEMBERS = 10_000;
/** SPEC §2.1: the id becomes a folder name, so it is checked before it is used as one. */
export const PLUGIN_ID_PATTERN = /^[a-zA-Z0-9_-]{1,128}$/;

export interface ArchiveFile {
  path: string;
  size: number;
  sha256: string;
}

export interface ArchiveIndex {
  format: typeof ARCHIVE_FORMAT;
  id: string;
  version: string;
  /** `[plugin.sdk]` as the manifest writes it, for a reader who wants the range without unpacking. */
  sdk: Record<string, string>;
  files: ArchiveFile[];
}

/** Why `member` may not be a member path (relative, inside, plain segments), or undefined when it may. */
export function memberPathProblem(member: string): string | undefined {
  if (member === "") return "an empty path";
  if (member.includes("\0")) return "a NUL byte in the path";
  // Control characters would be file names that rewrite a terminal when listed, or forge lines in a log.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\u0001-\u001f\u007f-\u009f]/.test(member)) return "a control character in the path";
  if (member.includes("\\")) return "a backslash in the path";
  if (posix.isAbsolute(member) || /^[a-zA-Z]:/.test(member)) return "an absolute path";
  const segments = member.split("/");
  if (segments.includes("..")) return "a '..' segment that leaves the plugin folder";
  if (segments.some((segment) => segment === "" || segment === ".")) return "an empty or '.' segment";
  return undefined;
}

const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** The index member, validated: every field typed, every path a valid member path, no path twice. */
export function parseArchiveIndex(text: string): { ok: true; index: ArchiveIndex } | { ok: false; message: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `${ARCHIVE_INDEX_FILE} is not JSON: ${(error as Error).message}` };
  }
  const bad = (why: string) => ({ ok: false as const, message: `${ARCHIVE_INDEX_FILE}: ${why}` });
  if (!isRecord(raw)) return bad("must be an object");
  if (raw.format !== ARCHIVE_FORMAT)
    return bad(`format must be '${ARCHIVE_FORMAT}', not ${JSON.stringify(raw.format)}`);
  if (typeof raw.id !== "string" || !PLUGIN_ID_PATTERN.test(raw.id)) return bad("id must match ^[a-zA-Z0-9_-]{1,128}$");
  if (typeof raw.version !== "string" || !/^[0-9A-Za-z.+-]{1,64}$/.test(raw.version)) {
    return bad("version must be a version string (digits, letters, '.', '+', '-'; at most 64)");
  }
  const sdk = raw.sdk ?? {};
  if (!isRecord(sdk) || Object.values(sdk).some((range) => typeof range !== "string")) {
    return bad("sdk must map names to version ranges");
  }
  if (!Array.isArray(raw.files)) return bad("files must be a list");
  const files: ArchiveFile[] = [];
  const seen = new Set<string>();
  for (const file of raw.files as unknown[]) {
    if (!isRecord(file) || typeof file.path !== "string") return bad("every file needs a path");
    const problem = memberPathProblem(file.path);
    if (problem !== undefined) return bad(`file '${file.path}' has ${problem}`);
    if (file.path === ARCHIVE_INDEX_FILE) return bad("lists itself");
    if (seen.has(file.path)) return bad(`file '${file.path}' is listed twice`);
    seen.add(file.path);
    if (typeof file.size !== "number" || !Number.isSafeInteger(file.size) || file.size < 0) {
      return bad(`file '${file.path}' needs a size in bytes`);
    }
    if (typeof file.sha256 !== "string" || !SHA256_PATTERN.test(file.sha256)) {
      return bad(`file '${file.path}' needs a sha256 of 64 lowercase hex digits`);
    }
    files.push({ path: file.path, size: file.size, sha256: file.sha256 });
  }
  const index: ArchiveIndex = {
    format: ARCHIVE_FORMAT,
    id: raw.id,
    version: raw.version,
    sdk: sdk as Record<string, string>,
    files,
  };
  return { ok: true, index };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
