/** Every bus record as it happens, any namespace, newest first, filtered by namespace and text. */
import { useState } from "preact/hooks";
import type { LiveStore } from "../live-store.ts";
import { t } from "../strings.ts";
import { BusRecordList, recordMatches, useRecentRecords } from "./bus-record-list.tsx";

const NAMESPACES = ["events", "messages", "lifecycle", "conversations", "memory"];
const READ_FIRST = ["events", "lifecycle"];

export function EventsView({ store }: { store: LiveStore }) {
  useRecentRecords(store, READ_FIRST);
  const [namespace, setNamespace] = useState("");
  const [text, setText] = useState("");
  const shown = store.records(namespace ? [namespace] : undefined).filter((r) => recordMatches(r, text));
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
      <BusRecordList records={shown} empty={t("events.empty")} label={t("events.title")} />
    </section>
  );
}
