/**
 * Bus records as the messages and events views show them, newest first, and what both need: the recent records of
 * their namespaces read once when the view opens (the admin socket brings the rest), and a text filter whose
 * searchable text is made once per record.
 */
import { useEffect } from "preact/hooks";
import type { BusRecord } from "../api-types.ts";
import { formatTime } from "../figure-format.ts";
import type { LiveStore } from "../live-store.ts";
import { api } from "../server-api.ts";
import { t } from "../strings.ts";

const SHOWN = 200;
const searchText = new WeakMap<BusRecord, string>();

export function useRecentRecords(store: LiveStore, namespaces: readonly string[]): void {
  useEffect(() => {
    for (const ns of namespaces) {
      api<{ records: BusRecord[] }>("GET", `/bus/${ns}?max_count=${SHOWN}`).then(
        ({ records }) => store.mergeBus(ns, records),
        () => {},
      );
    }
  }, [namespaces.join(",")]);
}

export function recordMatches(record: BusRecord, text: string): boolean {
  if (!text) return true;
  let haystack = searchText.get(record);
  if (haystack === undefined) {
    haystack = `${record.type} ${record.source} ${record.pluginId ?? ""} ${JSON.stringify(record.data)}`.toLowerCase();
    searchText.set(record, haystack);
  }
  return haystack.includes(text.toLowerCase());
}

export function BusRecordList({ records, empty, label }: { records: BusRecord[]; empty: string; label: string }) {
  if (records.length === 0) return <p class="muted">{empty}</p>;
  return (
    <ol class="records" role="log" aria-label={label}>
      {records
        .slice(-SHOWN)
        .reverse()
        .map((r) => (
          <li key={`${r.namespace}:${r.id}`} class="card record">
            <div class="record-head">
              <span class="badge">{r.namespace}</span> <strong>{r.type}</strong>{" "}
              <span class="muted">
                {r.pluginId ?? r.source} · {t("messages.source")}: {r.source} · p{r.priority}
              </span>{" "}
              <time>{formatTime(r.ts)}</time>
            </div>
            <code class="record-data">{JSON.stringify(r.data)}</code>
          </li>
        ))}
    </ol>
  );
}
