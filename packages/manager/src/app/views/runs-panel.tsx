/** A plugin's runs, newest first: the kept ones read once (`GET /runs?plugin_id=`), then live from the admin socket. */
import { useEffect } from "preact/hooks";
import type { RunInfo } from "../api-types.ts";
import { formatTime } from "../figure-format.ts";
import type { LiveStore } from "../live-store.ts";
import { api } from "../server-api.ts";
import { StateBadge } from "../state-badge.tsx";
import { t } from "../strings.ts";
import { RunLine } from "./run-line.tsx";

export function RunsPanel({ store, pluginId }: { store: LiveStore; pluginId: string }) {
  useEffect(() => {
    api<{ runs: RunInfo[] }>("GET", `/runs?plugin_id=${encodeURIComponent(pluginId)}&limit=50`).then(
      ({ runs }) => {
        for (const run of [...runs].reverse()) if (!store.runs.has(run.run_id)) store.noteRun(run);
      },
      () => {},
    );
  }, [pluginId]);
  const runs = [...store.runs.values()].filter((r) => r.plugin_id === pluginId).reverse();
  return (
    <>
      <h2>{t("detail.runs")}</h2>
      {runs.length === 0 ? (
        <p class="muted">{t("runs.none")}</p>
      ) : (
        <table class="runs-table">
          <thead>
            <tr>
              <th scope="col">{t("runs.entry")}</th>
              <th scope="col">{t("runs.status")}</th>
              <th scope="col">{t("runs.progress")}</th>
              <th scope="col">{t("runs.started")}</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.run_id}>
                <th scope="row">{r.entry_id}</th>
                <td data-label={t("runs.status")}>
                  <StateBadge state={r.status} />
                </td>
                <td data-label={t("runs.progress")}>
                  <RunLine store={store} runId={r.run_id} label={`${r.entry_id} ${formatTime(r.created_at)}`} inTable />
                </td>
                <td data-label={t("runs.started")}>{formatTime(r.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
