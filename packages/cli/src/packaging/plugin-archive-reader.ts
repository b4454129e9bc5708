/**
 * Reads a `.neko-plugin` archive fully in memory and verifies it before anyone writes a byte (docs/packaging.md#what-
 * install-refuses): bounded size and member count, member paths relative and inside, regular files and folders only,
 * and the index listing every file with its exact size and SHA-256, nothing more and nothing less.
 */
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { Parser, type ReadEntry } from "tar";
import {
  ARCHIVE_INDEX_FILE,
  type ArchiveIndex,
  MAX_MEMBERS,
  MAX_UNPACKED_BYTES,
  memberPathProblem,
  parseArchiveIndex,
} from "./archive-index.ts";

export interface VerifiedArchive {
  index: ArchiveIndex;
  /** The index's files in its order, with their verified bytes. */
  files: Array<{ path: string; data: Buffer }>;
}

export type ReadArchiveResult = { ok: true; archive: VerifiedArchive } | { ok: false; error: string };

/** Room for the tar headers and padding around MAX_UNPACKED_BYTES of content (a header and a pad block per member). */
const MAX_TAR_BYTES = MAX_UNPACKED_BYTES + (MAX_MEMBERS + 2) * 1024;

type TarMember = { path: string; kind: "file" | "folder"; data: Buffer };

/** gzip, zstd, bzip2 and xz: formats the tar parser (or a later version of it) may unpack by itself. */
const COMPRESSED_MAGIC = [
  Buffer.from([0x1f, 0x8b]),
  Buffer.from([0x28, 0xb5, 0x2f, 0xfd]),
  Buffer.from("BZh"),
  Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
];

export async function readPluginArchive(archivePath: string): Promise<ReadArchiveResult> {
  let compressed: Buffer;
  try {
    if ((await stat(archivePath)).size > MAX_TAR_BYTES) return refused(`the file is larger than ${mib(MAX_TAR_BYTES)}`);
    compressed = await readFile(archivePath);
  } catch (error) {
    return { ok: false, error: `cannot read ${archivePath}: ${(error as Error).message}` };
  }
  let tarBytes: Buffer;
  try {
    // maxOutputLength stops a zip bomb while it inflates, not after.
    tarBytes = await promisify(gunzip)(compressed, { maxOutputLength: MAX_TAR_BYTES });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      return refused(`it unpacks to more than ${mib(MAX_UNPACKED_BYTES)}`);
    }
    return refused(`it is not a gzip'd archive (${(error as Error).message})`);
  }
  // The tar parser would inflate a second compressed layer by itself, with no limit: a few KiB could become
  // gigabytes before any size check. An archive is one gzip layer over a plain tar, nothing else.
  if (COMPRESSED_MAGIC.some((magic) => tarBytes.subarray(0, magic.length).equals(magic))) {
    return refused("it holds a compressed archive inside the compressed one (a plain tar is expected)");
  }
  const members = await readTarMembers(tarBytes);
  if (!members.ok) return refused(members.error);
  return verifyMembers(members.members);
}

function verifyMembers(members: TarMember[]): ReadArchiveResult {
  const indexMember = members.find((member) => member.path === ARCHIVE_INDEX_FILE);
  if (indexMember === undefined || indexMember.kind !== "file") {
    return refused(`it has no ${ARCHIVE_INDEX_FILE} (the checksum list); was it made by neko-plugin build?`);
  }
  const parsed = parseArchiveIndex(indexMember.data.toString("utf8"));
  if (!parsed.ok) return refused(parsed.message);
  const { index } = parsed;

  const present = new Map<string, Buffer>();
  for (const member of members) {
    if (member.kind === "file" && member.path !== ARCHIVE_INDEX_FILE) present.set(member.path, member.data);
  }
  for (const path of present.keys()) {
    if (!index.files.some((file) => file.path === path)) {
      return refused(`member '${path}' is not in ${ARCHIVE_INDEX_FILE} (an extra file)`);
    }
  }
  const files: VerifiedArchive["files"] = [];
  for (const file of index.files) {
    const data = present.get(file.path);
    if (data === undefined) return refused(`'${file.path}' is listed in ${ARCHIVE_INDEX_FILE} but missing`);
    const sha256 = createHash("sha256").update(data).digest("hex");
    if (data.length !== file.size || sha256 !== file.sha256) {
      return refused(`'${file.path}' does not match its checksum (the archive was changed or damaged)`);
    }
    files.push({ path: file.path, data });
  }
  return { ok: true, archive: { index, files } };
}

/** Every member of a plain tar with its bytes; the first path, type, count or size problem ends the read. */
function readTarMembers(tarBytes: Buffer): Promise<{ ok: true; members: TarMember[] } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const members: TarMember[] = [];
    const seen = new Set<string>();
    let declaredBytes = 0;
    let failure: string | undefined;
    const fail = (why: string) => {
      failure ??= why;
    };
    const onReadEntry = (entry: ReadEntry) => {
      const problem = failure === undefined ? entryProblem(entry) : failure;
      if (problem !== undefined) {
        fail(problem);
        entry.resume();
        return;
      }
      const path = entry.path.replace(/\/$/, "");
      seen.add(path);
      declaredBytes += entry.size;
      const chunks: Buffer[] = [];
      entry.on("data", (chunk: Buffer) => chunks.push(chunk));
      entry.on("end", () => {
        members.push({ path, kind: entry.type === "Directory" ? "folder" : "file", data: Buffer.concat(chunks) });
      });
    };
    const entryProblem = (entry: ReadEntry): string | undefined => {
      const path = entry.path.replace(/\/$/, "");
      const pathProblem = memberPathProblem(path);
      if (pathProblem !== undefined) return `member '${entry.path}' has ${pathProblem}`;
      if (entry.type !== "File" && entry.type !== "OldFile" && entry.type !== "Directory") {
        return `member '${path}' is a ${entry.type}; archives hold only files and folders (no links, no devices)`;
      }
      if (seen.has(path)) return `member '${path}' appears twice`;
      if (seen.size + 1 > MAX_MEMBERS) return `it holds more than ${MAX_MEMBERS} members`;
      if (declaredBytes + entry.size > MAX_UNPACKED_BYTES) return `it unpacks to more than ${mib(MAX_UNPACKED_BYTES)}`;
      return undefined;
    };
    const parser = new Parser({ strict: true, onReadEntry });
    const settle = () => resolve(failure === undefined ? { ok: true, members } : { ok: false, error: failure });
    // Settling on the error too: a parser that fails need not close.
    parser.on("error", (error: Error) => {
      fail(`it is not a valid tar archive (${error.message})`);
      settle();
    });
    parser.on("close", settle);
    parser.end(tarBytes);
  });
}

function refused(why: string): { ok: false; error: string } {
  return { ok: false, error: `refused: ${why}; nothing was written` };
}

function mib(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MiB`;
}
