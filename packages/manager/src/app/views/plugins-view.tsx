/**
 * The plugin list: state, type, version and live CPU/memory of every plugin, filtered by text, type and state, with
 * each plugin's lifecycle buttons. On a narrow screen each row becomes a card (CSS), so nothing scrolls sideways.
 */
import { useState } from "preact/hooks";
import type { LiveStore } from "../live-store.ts";
import { FilterChoice, FilterText } from "../filter-fields.tsx";
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
        <FilterText id="plugin-filter-text" label={t("plugins.filterText")} value={text} onChange={setText} />
        <FilterChoice
          id="plugin-filter-type"
          label={t("plugins.type")}
          value={type}
          options={types}
          onChange={setType}
        />
        <FilterChoice
          id="plugin-filter-state"
          label={t("plugins.state")}
          value={state}
          options={states}
          onChange={setState}
        />
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
