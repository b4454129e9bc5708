/**
 * The plugin list: state, type, version and live CPU/memory of every plugin, filtered by text, type and state, with
 * each plugin's lifecycle buttons. On a narrow screen each row becomes a card (CSS), so nothing scrolls sideways.
 */
import { useState } from "preact/hooks";
import type { LiveStore } from "../live-store.ts";
import { formatBytes, formatPercent } from "../figure-format.ts";
import { StateBadge } from "../state-badge.tsx";
import { PluginActions } from "../plugin-actions.tsx";
import { t } from "../strings.ts";

export function PluginsView({ store }: { store: LiveStore }) {
  const [text, setText] = useState("");
  const [type, setType] = useState("");
  const [state, setState] = useState("");
  const types = [...new Set(store.plugins.map((p) => p.type))].sort();
  const states = [...new Set(store.plugins.map((p) => p.status))].sort();
  const needle = text.trim().toLowerCase();
  const shown = store.plugins.filter(
    (p) =>
      (!needle || `${p.id} ${p.name} ${p.description}`.toLowerCase().includes(needle)) &&
      (!type || p.type === type) &&
      (!state || p.status === state),
  );
  return (
    <section aria-labelledby="plugins-title">
      <h1 tabIndex={-1} id="plugins-title">
        {t("plugins.title")}
      </h1>
      <form class="filters" aria-label={t("plugins.filter")} onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="plugin-filter-text">{t("plugins.filterText")}</label>
          <input
            id="plugin-filter-text"
            type="search"
            value={text}
            onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
          />
        </div>
        <div class="field">
          <label for="plugin-filter-type">{t("plugins.type")}</label>
          <select
            id="plugin-filter-type"
            value={type}
            onChange={(e) => setType((e.currentTarget as HTMLSelectElement).value)}
          >
            <option value="">{t("common.all")}</option>
            {types.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="plugin-filter-state">{t("plugins.state")}</label>
          <select
            id="plugin-filter-state"
            value={state}
            onChange={(e) => setState((e.currentTarget as HTMLSelectElement).value)}
          >
            <option value="">{t("common.all")}</option>
            {states.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </div>
      </form>
      {store.pluginsError && (
        <p role="alert" class="feedback error">
          {store.pluginsError}
        </p>
      )}
      <p class="muted" aria-live="polite">
        {t("plugins.count", { shown: shown.length, total: store.plugins.length })}
      </p>
      {store.pluginsLoaded && shown.length === 0 ? (
        <p>{t("plugins.empty")}</p>
      ) : (
        <table class="plugin-table">
          <thead>
            <tr>
              <th scope="col">{t("plugins.name")}</th>
              <th scope="col">{t("plugins.state")}</th>
              <th scope="col">{t("plugins.type")}</th>
              <th scope="col">{t("plugins.version")}</th>
              <th scope="col">{t("plugins.cpu")}</th>
              <th scope="col">{t("plugins.memory")}</th>
              <th scope="col">{t("plugins.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((p) => {
              const m = store.metrics.get(p.id);
              return (
                <tr key={p.id} data-plugin={p.id}>
                  <th scope="row">
                    <a href={`#/plugins/${encodeURIComponent(p.id)}`}>{p.name}</a>
                    {p.name !== p.id && <span class="muted"> ({p.id})</span>}
                  </th>
                  <td data-label={t("plugins.state")}>
                    <StateBadge state={p.status} />
                  </td>
                  <td data-label={t("plugins.type")}>{p.type}</td>
                  <td data-label={t("plugins.version")}>{p.version}</td>
                  <td data-label={t("plugins.cpu")}>{p.status === "running" ? formatPercent(m?.cpu_percent) : "–"}</td>
                  <td data-label={t("plugins.memory")}>{p.status === "running" ? formatBytes(m?.rss_bytes) : "–"}</td>
                  <td data-label={t("plugins.actions")}>
                    <PluginActions plugin={p} compact />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
