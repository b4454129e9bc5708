/**
 * The host's memory store (SPEC §5.3): records `{ bucket, key, value }` in SQLite, searchable through an FTS5 index
 * ranked by bm25. Storing a key again in its bucket replaces the record and makes it the most recent. User text never
 * reaches FTS5 as syntax: `toFtsQuery` turns it into quoted terms.
 */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type { JsonValue, MemoryHit, MemoryRecord } from "@neko/protocol";

interface Row {
  bucket: string;
  key: string;
  value: string;
  plugin_id: string;
  created_at: number;
  updated_at: number;
}

/** A match in the key counts this many times a match in the value. */
const KEY_WEIGHT = 2;
const MAX_QUERY_TERMS = 64;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS memories (
  id INTEGER PRIMARY KEY,
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  body TEXT NOT NULL,
  plugin_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  UNIQUE (bucket, key)
);
CREATE INDEX IF NOT EXISTS memories_recent ON memories (bucket, seq);
CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5(
  key, body, content = 'memories', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS memories_ai AFTER INSERT ON memories BEGIN
  INSERT INTO memories_fts (rowid, key, body) VALUES (new.id, new.key, new.body);
END;
CREATE TRIGGER IF NOT EXISTS memories_ad AFTER DELETE ON memories BEGIN
  INSERT INTO memories_fts (memories_fts, rowid, key, body) VALUES ('delete', old.id, old.key, old.body);
END;
CREATE TRIGGER IF NOT EXISTS memories_au AFTER UPDATE ON memories BEGIN
  INSERT INTO memories_fts (memories_fts, rowid, key, body) VALUES ('delete', old.id, old.key, old.body);
  INSERT INTO memories_fts (rowid, key, body) VALUES (new.id, new.key, new.body);
END;
`;

export class MemoryStore {
  private readonly insert: Database.Statement<[Record<string, unknown>], Row>;
  private readonly match: Database.Statement<
    [{ query: string; bucket: string | null; limit: number }],
    Row & { rank: number }
  >;
  private readonly recentRows: Database.Statement<[string, number], Row>;
  /** Orders records by when they were last stored, even within one millisecond. */
  private seq: number;

  private constructor(private readonly db: Database.Database) {
    this.insert = db.prepare(
      `INSERT INTO memories (bucket, key, value, body, plugin_id, created_at, updated_at, seq)
       VALUES (@bucket, @key, @value, @body, @pluginId, @now, @now, @seq)
       ON CONFLICT (bucket, key) DO UPDATE SET value = excluded.value, body = excluded.body,
         plugin_id = excluded.plugin_id, updated_at = excluded.updated_at, seq = excluded.seq
       RETURNING bucket, key, value, plugin_id, created_at, updated_at`,
    );
    this.match = db.prepare(
      `SELECT m.bucket, m.key, m.value, m.plugin_id, m.created_at, m.updated_at,
              bm25(memories_fts, ${KEY_WEIGHT}, 1.0) AS rank
       FROM memories_fts JOIN memories m ON m.id = memories_fts.rowid
       WHERE memories_fts MATCH @query AND (@bucket IS NULL OR m.bucket = @bucket)
       ORDER BY rank, m.seq DESC LIMIT @limit`,
    );
    this.recentRows = db.prepare(
      `SELECT bucket, key, value, plugin_id, created_at, updated_at FROM memories
       WHERE bucket = ? ORDER BY seq DESC LIMIT ?`,
    );
    this.seq = (db.prepare("SELECT max(seq) AS seq FROM memories").get() as { seq: number | null }).seq ?? 0;
  }

  /** Opens (or creates) the store at `file`, creating its folder. */
  static open(file: string): MemoryStore {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const db = new Database(file);
    try {
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      db.pragma("busy_timeout = 5000");
      db.exec(SCHEMA);
      return new MemoryStore(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * Stores or replaces `key` in `bucket`; `value` must already be checked JSON-compatible, and `valueJson` is it as
   * JSON text (the caller serialized it once, to check its size).
   */
  store(record: { bucket: string; key: string; value: JsonValue; valueJson: string; pluginId: string }): MemoryRecord {
    this.seq += 1;
    const row = this.insert.get({
      bucket: record.bucket,
      key: record.key,
      value: record.valueJson,
      body: searchableText(record.value),
      pluginId: record.pluginId,
      now: Date.now(),
      seq: this.seq,
    }) as Row;
    return toRecord(row);
  }

  /** Records matching any word of `query`, most relevant first; none when the query has no words. */
  search(query: string, options: { bucket?: string; limit: number }): MemoryHit[] {
    const fts = toFtsQuery(query);
    if (fts === undefined) return [];
    return this.match.all({ query: fts, bucket: options.bucket ?? null, limit: options.limit }).map((row) => ({
      ...toRecord(row),
      score: -row.rank,
    }));
  }

  /** The bucket's records, most recently stored first. */
  recent(bucket: string, options: { limit: number }): MemoryRecord[] {
    return this.recentRows.all(bucket, options.limit).map(toRecord);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * User text as an FTS5 query that cannot be read as syntax: its words, each quoted, joined with OR (bm25 then ranks
 * the records matching more and rarer words first). Undefined when the text has no words.
 */
export function toFtsQuery(text: string): string | undefined {
  // The same characters the unicode61 tokenizer keeps in tokens (categories L*, N*, Co).
  const words = text.normalize("NFC").match(/[\p{L}\p{N}\p{M}\p{Co}]+/gu) ?? [];
  const unique = [...new Set(words.map((w) => w.toLowerCase()))].slice(0, MAX_QUERY_TERMS);
  if (unique.length === 0) return undefined;
  return unique.map((w) => `"${w.replaceAll('"', '""')}"`).join(" OR ");
}

/** The text indexed for a value: a string as is; the strings, numbers and booleans inside anything else. */
function searchableText(value: JsonValue): string {
  if (value === null) return "";
  if (typeof value !== "object") return String(value);
  const parts = Array.isArray(value) ? value.map(searchableText) : Object.values(value).map(searchableText);
  return parts.filter((p) => p !== "").join("\n");
}

function toRecord(row: Row): MemoryRecord {
  return {
    bucket: row.bucket,
    key: row.key,
    value: JSON.parse(row.value) as JsonValue,
    pluginId: row.plugin_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
