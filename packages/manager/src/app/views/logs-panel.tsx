/**
 * A plugin's log, live: `WS /ws/logs/{id}` sends the recent lines that pass the level and search filters, then each
 * new one. Changing a filter opens the socket again with it (the server filters, so history and live agree).
 */
import { useEffect, useState } from "preact/hooks";
import type { LogRecord } from "../api-types.ts";
import { FilterChoice, FilterText } from "../filter-fields.tsx";
import { openSocket } from "../server-api.ts";
import { t } from "../strings.ts";

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
const MAX_LINES = 500;

export function LogsPanel({ pluginId }: { pluginId: string }) {
  const [level, setLevel] = useState("trace");
  const [search, setSearch] = useState("");
  const [query, setQuery] = useState("");
  const [records, setRecords] = useState<LogRecord[]>([]);
  const [open, setOpen] = useState(false);
  // Typing settles before the socket is opened again.
  useEffect(() => {
    const timer = setTimeout(() => setQuery(search), 300);
    return () => clearTimeout(timer);
  }, [search]);
  useEffect(() => {
    const params = new URLSearchParams({ lines: "200", level });
    if (query) params.set("search", query);
    const url = `/ws/logs/${encodeURIComponent(pluginId)}?${params}`;
    let socket: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let retryMs = 500;
    let done = false;
    // Each opening sends the history again, so a reconnect after the server went away misses nothing.
    const connect = () => {
      const current = openSocket(url);
      socket = current;
      const reconnect = () => {
        if (done || socket !== current) return;
        setOpen(false);
        retry = setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 10_000);
      };
      if (!current) return reconnect();
      current.onopen = () => {
        if (socket !== current) return;
        retryMs = 500;
        setOpen(true);
      };
      current.onclose = reconnect;
      current.onmessage = (event) => {
        if (socket !== current) return;
        let message: { type: "history"; records: LogRecord[] } | { type: "log"; record: LogRecord };
        try {
          message = JSON.parse(String(event.data));
        } catch {
          return;
        }
        if (message.type === "history") setRecords(message.records.slice(-MAX_LINES));
        else if (message.type === "log") setRecords((old) => [...old, message.record].slice(-MAX_LINES));
      };
    };
    setOpen(false);
    connect();
    return () => {
      done = true;
      clearTimeout(retry);
      socket?.close();
    };
  }, [pluginId, level, query]);
  return (
    <>
      <h2>{t("detail.logs")}</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <FilterChoice
          id="log-level"
          label={t("logs.level")}
          value={level}
          options={LEVELS}
          onChange={setLevel}
          required
        />
        <FilterText id="log-search" label={t("logs.search")} value={search} onChange={setSearch} />
      </form>
      <p class="muted">{open ? t("logs.live") : t("live.connecting")}</p>
      {records.length === 0 ? (
        <p class="muted">{t("logs.empty")}</p>
      ) : (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the log scrolls; the keyboard must be able to scroll it
        <ol class="log-lines" role="log" aria-label={t("logs.region", { id: pluginId })} tabIndex={0}>
          {records.map((r, i) => (
            <li key={i} class={`level-${r.level}`}>
              <time>{r.time.slice(11, 23)}</time> <span class="level">{r.level}</span> <span class="msg">{r.msg}</span>
            </li>
          ))}
        </ol>
      )}
    </>
  );
}
