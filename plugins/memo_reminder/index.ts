/**
 * Memo Reminder: memos kept in `this.store` (so they survive restarts), a timer that looks for the ones that fell
 * due, and `this.pushMessage` to put a reminder on the host's message queue. Timers, store and message queue
 * together, as SPEC §7 asks. Its `[reminders]` table is described by a `configSchema`, so a bad value is refused
 * before it reaches the timer and the manager page can draw a form for it (docs/config.md).
 */
import { randomUUID } from "node:crypto";
import { NekoPluginBase, nekoPlugin, NotFoundError, Ok, pluginEntry, timerInterval, z } from "@neko/plugin-sdk/plugin";

interface Memo {
  id: string;
  text: string;
  /** Ms since the epoch. */
  dueAt: number;
  /** Set once the reminder was pushed. */
  remindedAt: number | null;
}

const PREFIX = "memo:";

const REMINDER_DEFAULTS = { enabled: true, priority: 7, title: "Reminder", content: "text" } as const;

/** The plugin's own configuration: the `[reminders]` table of plugin.toml. */
const Settings = z.object({
  reminders: z
    .object({
      enabled: z.boolean().default(true).describe("Push reminders; off, memos are kept but nothing is pushed"),
      priority: z
        .number()
        .int()
        .min(0)
        .max(10)
        .default(7)
        .describe("Priority of each reminder on the host message queue (0-10)"),
      title: z.string().min(1).max(80).default("Reminder").describe("The description of each reminder message"),
      content: z
        .enum(["text", "text_with_due_time"])
        .default("text")
        .describe("What a reminder says: the memo's text, or the text and when it was due"),
    })
    .default(REMINDER_DEFAULTS)
    .describe("How reminders are pushed"),
});

@nekoPlugin
export class MemoReminderPlugin extends NekoPluginBase<typeof Settings> {
  static override configSchema = Settings;

  @pluginEntry({
    id: "add_memo",
    description: "Remember a memo and push a reminder when it falls due",
    params: z.object({
      text: z.string().trim().min(1).max(2000),
      due_in_seconds: z
        .number()
        .min(0)
        .max(366 * 24 * 3600),
    }),
    llmResultFields: ["id", "dueAt"],
  })
  async addMemo({ text, due_in_seconds }: { text: string; due_in_seconds: number }) {
    const memo: Memo = {
      id: randomUUID().slice(0, 8),
      text,
      dueAt: Date.now() + due_in_seconds * 1000,
      remindedAt: null,
    };
    const saved = await this.store.set(PREFIX + memo.id, memo);
    return saved.ok ? Ok(memo) : saved;
  }

  @pluginEntry({
    id: "list_memos",
    description: "Memos, soonest due first",
    params: z.object({ pending_only: z.boolean().default(false) }),
  })
  async listMemos({ pending_only }: { pending_only: boolean }) {
    const memos = await this.memos();
    if (!memos.ok) return memos;
    const shown = pending_only ? memos.value.filter((m) => m.remindedAt === null) : memos.value;
    return Ok(shown.sort((a, b) => a.dueAt - b.dueAt));
  }

  @pluginEntry({ id: "delete_memo", description: "Forget a memo", params: z.object({ id: z.string().min(1) }) })
  async deleteMemo({ id }: { id: string }) {
    const deleted = await this.store.delete(PREFIX + id);
    if (!deleted.ok) return deleted;
    return deleted.value ? Ok({ id }) : { ok: false as const, error: new NotFoundError(`no memo '${id}'`) };
  }

  /** Once a second: push a reminder for every memo that fell due, then mark it so it is pushed only once. */
  @timerInterval({ id: "check_due", seconds: 1 })
  async checkDue() {
    const memos = await this.memos();
    if (!memos.ok) {
      this.logger.warn("could not read memos", { error: memos.error.message });
      return;
    }
    const now = Date.now();
    const { enabled, priority, title, content } = this.config.value.reminders;
    for (const memo of memos.value) {
      if (!enabled || memo.remindedAt !== null || memo.dueAt > now) continue;
      const pushed = await this.pushMessage({
        source: this.pluginId,
        messageType: "text",
        description: title,
        priority,
        content: content === "text" ? memo.text : `${memo.text} (due ${new Date(memo.dueAt).toISOString()})`,
        metadata: { memoId: memo.id, dueAt: new Date(memo.dueAt).toISOString() },
      });
      if (!pushed.ok) {
        this.logger.warn("could not push a reminder", { memo: memo.id, error: pushed.error.message });
        continue;
      }
      await this.store.set(PREFIX + memo.id, { ...memo, remindedAt: now });
      this.logger.info("reminded", { memo: memo.id });
    }
    const pending = memos.value.filter((m) => m.remindedAt === null && m.dueAt > now).length;
    this.reportStatus({ pending, checkedAt: new Date(now).toISOString() });
  }

  private async memos() {
    const keys = await this.store.keys(PREFIX);
    if (!keys.ok) return keys;
    const memos: Memo[] = [];
    for (const key of keys.value) {
      const memo = await this.store.get<Memo>(key);
      if (!memo.ok) return memo;
      if (memo.value) memos.push(memo.value);
    }
    return Ok(memos);
  }
}
