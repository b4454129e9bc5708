/**
 * Notes: a small CRUD plugin on `this.store` (SPEC §4.5). Each note is one key, `note:<id>`; a write that returned
 * Ok is on disk, so notes survive a crash of the plugin or of the host. The tag entries (`tags_list`,
 * `tags_rename`) live in a router, tags-router.ts.
 */
import { randomUUID } from "node:crypto";
import {
  NekoPluginBase,
  nekoPlugin,
  NotFoundError,
  Ok,
  pluginEntry,
  type Result,
  type SdkError,
  unwrap,
  z,
} from "@neko/plugin-sdk/plugin";
import { TagsRouter } from "./tags-router.ts";

export interface Note {
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
  constructor() {
    super();
    // unwrap: a router that cannot be mounted (an id clash, …) stops the plugin from loading, with the reason.
    unwrap(this.includeRouter(new TagsRouter(), { prefix: "tags_" }));
  }

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
    const saved = await this.saveNote(note);
    return saved.ok ? Ok(note) : saved;
  }

  @pluginEntry({
    id: "list",
    description: "List notes, newest first, optionally only those with a tag",
    params: z.object({ tag: z.string().optional(), limit: z.number().int().min(1).max(500).default(50) }),
    llmResultFields: ["notes"],
  })
  async list({ tag, limit }: { tag?: string; limit: number }) {
    const all = await this.allNotes();
    if (!all.ok) return all;
    const notes = all.value.filter((note) => tag === undefined || note.tags.includes(tag));
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

  /** Every note, in no particular order; the router's entries use it too. */
  async allNotes(): Promise<Result<Note[], SdkError>> {
    const keys = await this.store.keys(PREFIX);
    if (!keys.ok) return keys;
    const notes: Note[] = [];
    for (const key of keys.value) {
      const note = await this.store.get<Note>(key);
      if (!note.ok) return note;
      if (note.value) notes.push(note.value);
    }
    return Ok(notes);
  }

  saveNote(note: Note) {
    return this.store.set(PREFIX + note.id, note);
  }
}

function noSuchNote(id: string) {
  return { ok: false as const, error: new NotFoundError(`no note with id '${id}'`, { details: { id } }) };
}
