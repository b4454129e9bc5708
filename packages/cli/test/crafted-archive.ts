/** Hand-made `.neko-plugin` archives for tests: any member path, type or checksum list, as an attacker would write them. */
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { Header, type HeaderData } from "tar";

export interface CraftedMember {
  path: string;
  body?: string | Buffer;
  type?: HeaderData["type"];
  linkpath?: string;
}

/** A gzip'd tar holding exactly `members`, in order, with no sanitising of paths or types. */
export function craftArchive(members: CraftedMember[]): Buffer {
  return gzipSync(craftTar(members));
}

export function craftTar(members: CraftedMember[]): Buffer {
  const blocks: Buffer[] = [];
  for (const member of members) {
    const type = member.type ?? "File";
    const body = type === "File" ? Buffer.from(member.body ?? "") : Buffer.alloc(0);
    const header = new Header({
      path: member.path,
      type,
      size: body.length,
      mode: type === "Directory" ? 0o755 : 0o644,
      uid: 0,
      gid: 0,
      mtime: new Date(0),
      ...(member.linkpath !== undefined && { linkpath: member.linkpath }),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** The `neko-plugin.json` member listing `files` (path → content) with their real sizes and hashes. */
export function indexMember(id: string, files: Record<string, string | Buffer>, version = "0.1.0"): CraftedMember {
  const list = Object.entries(files).map(([path, body]) => {
    const data = Buffer.from(body);
    return { path, size: data.length, sha256: createHash("sha256").update(data).digest("hex") };
  });
  const index = { format: "neko-plugin-archive/1", id, version, sdk: {}, files: list };
  return { path: "neko-plugin.json", body: JSON.stringify(index) };
}

/** A small valid plugin: its files, and the members of an honest archive of it. */
export function samplePluginFiles(id: string, greeting = "hi"): Record<string, string> {
  return {
    "plugin.toml": `[plugin]\nid = "${id}"\nentry = "index.ts:Sample"\n`,
    // A plugin that loads: install checks its module.
    "index.ts": [
      'import { NekoPluginBase, nekoPlugin } from "@neko/plugin-sdk/plugin";',
      "@nekoPlugin",
      `export class Sample extends NekoPluginBase { greeting = ${JSON.stringify(greeting)}; }`,
      "",
    ].join("\n"),
  };
}

export function honestMembers(id: string, files: Record<string, string>): CraftedMember[] {
  return [indexMember(id, files), ...Object.entries(files).map(([path, body]) => ({ path, body }))];
}

/** `archive` with the first occurrence of `needle` in its unpacked bytes replaced by `replacement` (same length). */
export function tamper(archive: Buffer, needle: string, replacement: string): Buffer {
  const tar = gunzipSync(archive);
  const at = tar.indexOf(needle);
  if (at < 0 || needle.length !== replacement.length) throw new Error(`cannot tamper: '${needle}' not found`);
  tar.write(replacement, at);
  return gzipSync(tar);
}
