/** Every bus record as it happens, any namespace, newest first, filtered by namespace and text. */
import { useState } from "preact/hooks";
import { FilterChoice, FilterText } from "../filter-fields.tsx";
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
        <FilterChoice
          id="events-namespace"
          label={t("events.namespace")}
          value={namespace}
          options={NAMESPACES}
          onChange={setNamespace}
        />
        <FilterText id="events-search" label={t("common.search")} value={text} onChange={setText} />
      </form>
      <BusRecordList records={shown} empty={t("events.empty")} label={t("events.title")} />
    </section>
  );
}
