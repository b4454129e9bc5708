/** What plugins pushed with `pushMessage` (the bus's `messages` namespace), newest first, filtered in the page. */
import { useState } from "preact/hooks";
import { FilterChoice, FilterText } from "../filter-fields.tsx";
import type { LiveStore } from "../live-store.ts";
import { t } from "../strings.ts";
import { BusRecordList, recordMatches, useRecentRecords } from "./bus-record-list.tsx";

const NAMESPACES = ["messages"];

export function MessagesView({ store }: { store: LiveStore }) {
  useRecentRecords(store, NAMESPACES);
  const [plugin, setPlugin] = useState("");
  const [priority, setPriority] = useState(0);
  const [text, setText] = useState("");
  const all = store.records(NAMESPACES);
  const plugins = [...new Set(all.map((r) => r.pluginId).filter((p): p is string => p !== null))].sort();
  const shown = all.filter(
    (r) => (!plugin || r.pluginId === plugin) && r.priority >= priority && recordMatches(r, text),
  );
  return (
    <section aria-labelledby="messages-title">
      <h1 tabIndex={-1} id="messages-title">
        {t("messages.title")}
      </h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <FilterChoice
          id="messages-plugin"
          label={t("messages.plugin")}
          value={plugin}
          options={plugins}
          onChange={setPlugin}
        />
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
        <FilterText id="messages-search" label={t("common.search")} value={text} onChange={setText} />
      </form>
      <BusRecordList records={shown} empty={t("messages.empty")} label={t("messages.title")} />
    </section>
  );
}
