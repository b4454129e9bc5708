/**
 * The tag entries of the notes plugin, grouped in a router: `NotesPlugin` includes it with the prefix `tags_`, so
 * `list` and `rename` here are the entries `tags_list` and `tags_rename` (docs/routers.md).
 */
import { type AfterHookContext, afterEntry, Ok, PluginRouter, pluginEntry, z } from "@neko/plugin-sdk/plugin";
import type { NotesPlugin } from "./index.ts";

export class TagsRouter extends PluginRouter<NotesPlugin> {
  @pluginEntry({ id: "list", description: "Every tag, with how many notes carry it", llmResultFields: ["tags"] })
  async list() {
    const notes = await this.plugin.allNotes();
    if (!notes.ok) return notes;
    const counts = new Map<string, number>();
    for (const note of notes.value) for (const tag of note.tags) counts.set(tag, (counts.get(tag) ?? 0) + 1);
    const tags = [...counts].map(([tag, count]) => ({ tag, count })).sort((a, b) => a.tag.localeCompare(b.tag));
    return Ok({ tags });
  }

  @pluginEntry({
    id: "rename",
    description: "Rename a tag on every note that has it",
    params: z.object({ from: z.string().min(1).max(40), to: z.string().min(1).max(40) }),
  })
  async rename({ from, to }: { from: string; to: string }) {
    const notes = await this.plugin.allNotes();
    if (!notes.ok) return notes;
    let renamed = 0;
    for (const note of notes.value.filter((n) => n.tags.includes(from))) {
      const tags = [...new Set(note.tags.map((tag) => (tag === from ? to : tag)))];
      const saved = await this.plugin.saveNote({ ...note, tags });
      if (!saved.ok) return saved;
      renamed += 1;
    }
    return Ok({ from, to, renamed });
  }

  /** A router's hooks apply to its own entries: this one logs every tag change. */
  @afterEntry({ target: "rename" })
  logRename({ args, result }: AfterHookContext) {
    if (result.ok) this.plugin.logger.info("tag renamed", { from: args.from, to: args.to });
  }
}
