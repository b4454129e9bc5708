/**
 * The dashboard: how many plugins are in each state, the CPU and memory they use together, the server's facts, and
 * the crashes seen since the page opened (with the plugins that are crashed or quarantined now).
 */
import type { LiveStore } from "../live-store.ts";
import { formatBytes, formatDuration, formatPercent, formatTime } from "../figure-format.ts";
import { StateBadge } from "../state-badge.tsx";
import { t } from "../strings.ts";

export function DashboardView({ store }: { store: LiveStore }) {
  const byState = new Map<string, number>();
  for (const p of store.plugins) byState.set(p.status, (byState.get(p.status) ?? 0) + 1);
  let cpu = 0;
  let rss = 0;
  for (const m of store.metrics.values()) {
    cpu += m.cpu_percent ?? 0;
    rss += m.rss_bytes ?? 0;
  }
  const live = new Set(store.crashes.map((c) => c.pluginId));
  const crashedNow = store.plugins.filter(
    (p) => (p.status === "crashed" || p.status === "quarantined") && !live.has(p.id),
  );
  const server = store.server;
  return (
    <section aria-labelledby="dashboard-title">
      <h1 tabIndex={-1} id="dashboard-title">
        {t("dashboard.title")}
      </h1>
      <div class="cards">
        <section class="card" aria-labelledby="states-title">
          <h2 id="states-title">{t("dashboard.states")}</h2>
          <dl class="counts">
            {[...byState.entries()]
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([state, count]) => (
                <div key={state}>
                  <dt>
                    <StateBadge state={state} />
                  </dt>
                  <dd>{count}</dd>
                </div>
              ))}
          </dl>
          <p>
            <a href="#/plugins">
              {t("nav.plugins")} ({store.plugins.length})
            </a>
          </p>
        </section>
        <section class="card" aria-labelledby="resources-title">
          <h2 id="resources-title">{t("dashboard.resources")}</h2>
          <dl class="facts">
            <dt>{t("dashboard.cpu")}</dt>
            <dd>{store.metrics.size ? formatPercent(cpu) : t("metrics.waiting")}</dd>
            <dt>{t("dashboard.memory")}</dt>
            <dd>{store.metrics.size ? formatBytes(rss) : t("metrics.waiting")}</dd>
          </dl>
        </section>
        <section class="card" aria-labelledby="server-title">
          <h2 id="server-title">{t("dashboard.server")}</h2>
          {server ? (
            <dl class="facts">
              <dt>{t("dashboard.hostVersion")}</dt>
              <dd>{server.host_version}</dd>
              <dt>{t("dashboard.sdkVersion")}</dt>
              <dd>{server.sdk_version}</dd>
              <dt>{t("dashboard.node")}</dt>
              <dd>{server.node_version}</dd>
              <dt>{t("dashboard.platform")}</dt>
              <dd>{server.platform}</dd>
              <dt>{t("dashboard.uptime")}</dt>
              <dd>
                {formatDuration(
                  server.server ? (Date.now() - Date.parse(server.server.started_at)) / 1000 : server.uptime_s,
                )}
              </dd>
              {server.server && (
                <>
                  <dt>{t("dashboard.startedAt")}</dt>
                  <dd>{formatTime(server.server.started_at)}</dd>
                </>
              )}
            </dl>
          ) : (
            <p>{t("common.loading")}</p>
          )}
        </section>
      </div>
      <section class="card" aria-labelledby="crashes-title">
        <h2 id="crashes-title">{t("dashboard.crashes")}</h2>
        {store.crashes.length === 0 && crashedNow.length === 0 ? (
          <p class="muted">{t("dashboard.noCrashes")}</p>
        ) : (
          <ul class="crash-list">
            {store.crashes.map((c) => (
              <li key={`${c.pluginId}-${c.time}`}>
                <a href={`#/plugins/${encodeURIComponent(c.pluginId)}`}>{c.pluginId}</a>{" "}
                <time>{formatTime(c.time)}</time> <span class="reason">{c.reason ?? ""}</span>
              </li>
            ))}
            {crashedNow.map((p) => (
              <li key={p.id}>
                <a href={`#/plugins/${encodeURIComponent(p.id)}`}>{p.id}</a> <StateBadge state={p.status} />
                <span class="reason">{p.status_reason ?? ""}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </section>
  );
}
