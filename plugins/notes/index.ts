/**
 * Notes: a small CRUD plugin on `this.store` (SPEC §4.5). Each note is one key, `note:<id>`; a write that returned
 * Ok is on disk, so notes survive a crash of the plugin or of the host.
 */
import { randomUUID } from "node:crypto";
import { NekoPluginBase, nekoPlugin, NotFoundError, Ok, pluginEntry, z } from "@neko/plugin-sdk/plugin";

interface Note {
  id: string;
  title: string;
  body: string;
  tags: string[];
  /** ISO 8601: the store keeps JSON, and a Date is not JSON. */
  createdAt: string;
}

const PREFIX = "note:";

@nekoPlugin
export class NotesPlugin extends NekoPluginBase {
  @pluginEntry({
    id: "add",
    description: "Add a note",
    params: z.object({
      title: z.string().trim().min(1).max(200),
      body: z.string().max(10_000).default(""),
      tags: z.array(z.string().min(1).max(40)).max(20).default([]),
    }),
    llmResultFields: ["id", "title"],
  })
  async add({ title, body, tags }: { title: string; body: string; tags: string[] }) {
    const note: Note = { id: randomUUID().slice(0, 8), title, body, tags, createdAt: new Date().toISOString() };
    const saved = await this.store.set(PREFIX + note.id, note);
    return saved.ok ? Ok(note) : saved;
  }

  @pluginEntry({
    id: "list",
    description: "List notes, newest first, optionally only those with a tag",
    params: z.object({ tag: z.string().optional(), limit: z.number().int().min(1).max(500).default(50) }),
    llmResultFields: ["notes"],
  })
  async list({ tag, limit }: { tag?: string; limit: number }) {
    const keys = await this.store.keys(PREFIX);
    if (!keys.ok) return keys;
    const notes: Note[] = [];
    for (const key of keys.value) {
      const note = await this.store.get<Note>(key);
      if (!note.ok) return note;
      if (note.value && (tag === undefined || note.value.tags.includes(tag))) notes.push(note.value);
    }
    notes.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    return Ok({
      total: notes.length,
      notes: notes.slice(0, limit).map(({ id, title, tags, createdAt }) => ({ id, title, tags, createdAt })),
    });
  }

  @pluginEntry({ id: "get", description: "One note, with its body", params: z.object({ id: z.string().min(1) }) })
  async get({ id }: { id: string }) {
    const note = await this.store.get<Note>(PREFIX + id);
    if (!note.ok) return note;
    return note.value ? Ok(note.value) : noSuchNote(id);
  }

  @pluginEntry({ id: "delete", description: "Delete a note", params: z.object({ id: z.string().min(1) }) })
  async delete({ id }: { id: string }) {
    const deleted = await this.store.delete(PREFIX + id);
    if (!deleted.ok) return deleted;
    return deleted.value ? Ok({ deleted: id }) : noSuchNote(id);
  }
}

function noSuchNote(id: string) {
  return { ok: false as const, error: new NotFoundError(`no note with id '${id}'`, { details: { id } }) };
}
