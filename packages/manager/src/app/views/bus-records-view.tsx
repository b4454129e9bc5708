/**
 * The messages view (what plugins pushed with `pushMessage`, the bus's `messages` namespace) and the events view
 * (every bus record as it happens, any namespace): the recent records read once, then the admin socket's, filtered
 * in the page.
 */
import { useEffect, useState } from "preact/hooks";
import type { BusRecord } from "../api-types.ts";
import type { LiveStore } from "../live-store.ts";
import { formatTime } from "../page-parts.tsx";
import { api } from "../server-api.ts";
import { t } from "../strings.ts";

const NAMESPACES = ["events", "messages", "lifecycle", "conversations", "memory"];

function useRecentRecords(store: LiveStore, namespaces: readonly string[]): void {
  useEffect(() => {
    for (const ns of namespaces) {
      api<{ records: BusRecord[] }>("GET", `/bus/${ns}?max_count=200`).then(
        ({ records }) => store.mergeBus(records),
        () => {},
      );
    }
  }, [namespaces.join(",")]);
}

function matches(record: BusRecord, text: string): boolean {
  if (!text) return true;
  const needle = text.toLowerCase();
  return `${record.type} ${record.source} ${record.pluginId ?? ""} ${JSON.stringify(record.data)}`
    .toLowerCase()
    .includes(needle);
}

export function MessagesView({ store }: { store: LiveStore }) {
  useRecentRecords(store, ["messages"]);
  const [plugin, setPlugin] = useState("");
  const [priority, setPriority] = useState(0);
  const [text, setText] = useState("");
  const all = store.bus.filter((r) => r.namespace === "messages");
  const plugins = [...new Set(all.map((r) => r.pluginId).filter((p): p is string => p !== null))].sort();
  const shown = all
    .filter((r) => (!plugin || r.pluginId === plugin) && r.priority >= priority && matches(r, text))
    .reverse();
  return (
    <section aria-labelledby="messages-title">
      <h1 tabIndex={-1} id="messages-title">
        {t("messages.title")}
      </h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="messages-plugin">{t("messages.plugin")}</label>
          <select
            id="messages-plugin"
            value={plugin}
            onChange={(e) => setPlugin((e.currentTarget as HTMLSelectElement).value)}
          >
            <option value="">{t("common.all")}</option>
            {plugins.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="messages-priority">{t("messages.minPriority")}</label>
          <input
            id="messages-priority"
            type="number"
            min={0}
            max={10}
            value={priority}
            onInput={(e) => setPriority(Number((e.currentTarget as HTMLInputElement).value) || 0)}
          />
        </div>
        <div class="field">
          <label for="messages-search">{t("common.search")}</label>
          <input
            id="messages-search"
            type="search"
            value={text}
            onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
          />
        </div>
      </form>
      <RecordList records={shown} empty={t("messages.empty")} label={t("messages.title")} />
    </section>
  );
}

export function EventsView({ store }: { store: LiveStore }) {
  useRecentRecords(store, ["events", "lifecycle"]);
  const [namespace, setNamespace] = useState("");
  const [text, setText] = useState("");
  const shown = store.bus.filter((r) => (!namespace || r.namespace === namespace) && matches(r, text)).reverse();
  return (
    <section aria-labelledby="events-title">
      <h1 tabIndex={-1} id="events-title">
        {t("events.title")}
      </h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="events-namespace">{t("events.namespace")}</label>
          <select
            id="events-namespace"
            value={namespace}
            onChange={(e) => setNamespace((e.currentTarget as HTMLSelectElement).value)}
          >
            <option value="">{t("common.all")}</option>
            {NAMESPACES.map((ns) => (
              <option key={ns} value={ns}>
                {ns}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="events-search">{t("common.search")}</label>
          <input
            id="events-search"
            type="search"
            value={text}
            onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
          />
        </div>
      </form>
      <RecordList records={shown} empty={t("events.empty")} label={t("events.title")} />
    </section>
  );
}

function RecordList({ records, empty, label }: { records: BusRecord[]; empty: string; label: string }) {
  if (records.length === 0) return <p class="muted">{empty}</p>;
  return (
    <ol class="records" role="log" aria-label={label}>
      {records.slice(0, 200).map((r) => (
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
