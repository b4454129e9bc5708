/**
 * One plugin: its facts, state and reason, restart history and reported status (overview), then a section each for
 * its entries, runs, configuration, live logs, metrics, extensions and its own web UI (in a sandboxed frame).
 */
import { useEffect, useState } from "preact/hooks";
import type { PluginDetail } from "../api-types.ts";
import type { LiveStore } from "../live-store.ts";
import { ErrorBoundary } from "../error-boundary.tsx";
import { type Feedback, FeedbackLine } from "../feedback-line.tsx";
import { formatTime } from "../figure-format.ts";
import { JsonBlock } from "../json-block.tsx";
import { PluginActions } from "../plugin-actions.tsx";
import { ApiError, api, apiToken, errorText } from "../server-api.ts";
import { StateBadge } from "../state-badge.tsx";
import { type StringKey, t } from "../strings.ts";
import { ConfigPanel } from "./config-panel.tsx";
import { EntriesPanel } from "./entries-panel.tsx";
import { RunsPanel } from "./runs-panel.tsx";
import { LogsPanel } from "./logs-panel.tsx";
import { MetricsPanel } from "./metrics-panel.tsx";

const SECTIONS = ["overview", "entries", "runs", "config", "logs", "metrics", "extensions", "ui"] as const;
type Section = (typeof SECTIONS)[number];

export function PluginDetailView({ store, id, section }: { store: LiveStore; id: string; section: string }) {
  const [detail, setDetail] = useState<PluginDetail | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  // Bumped when something this page did (an extension switched) changed the plugin without a state change.
  const [version, setVersion] = useState(0);
  const listed = store.plugin(id);
  const status = listed?.status;
  const pid = listed?.pid;
  useEffect(() => {
    let current = true;
    api<PluginDetail>("GET", `/plugins/${encodeURIComponent(id)}`).then(
      (d) => {
        if (!current) return;
        setDetail(d);
        setProblem(null);
      },
      (error: unknown) => {
        if (!current) return;
        setProblem(error instanceof ApiError && error.status === 404 ? t("detail.notFound", { id }) : errorText(error));
      },
    );
    return () => {
      current = false;
    };
  }, [id, status, pid, version]);

  if (problem) {
    return (
      <section>
        <p role="alert">{problem}</p>
        <a href="#/plugins">{t("detail.back")}</a>
      </section>
    );
  }
  if (!detail) return <p>{t("common.loading")}</p>;
  // The live state wins over the detail fetched a moment ago.
  const plugin = { ...detail, status: listed?.status ?? detail.status, status_reason: listed?.status_reason ?? null };
  const shown = SECTIONS.filter((s) =>
    s === "extensions" ? plugin.extensions.length > 0 : s === "ui" ? plugin.ui : true,
  );
  const active: Section = (shown as readonly string[]).includes(section) ? (section as Section) : "overview";
  const href = (s: Section) => `#/plugins/${encodeURIComponent(id)}/${s}`;
  return (
    <section aria-labelledby="plugin-title">
      <p>
        <a href="#/plugins">← {t("detail.back")}</a>
      </p>
      <header class="detail-header">
        <h1 tabIndex={-1} id="plugin-title">
          {plugin.name}
        </h1>
        <StateBadge state={plugin.status} />
      </header>
      {plugin.status_reason && <p class="reason">{plugin.status_reason}</p>}
      <PluginActions plugin={plugin} />
      <nav class="tabs" aria-label={t("detail.sections")}>
        {shown.map((s) => (
          <a key={s} href={href(s)} aria-current={s === active ? "page" : undefined}>
            {t(`detail.${s}` as StringKey)}
          </a>
        ))}
      </nav>
      <div class="panel">
        <ErrorBoundary key={active} what={t(`detail.${active}` as StringKey)}>
          {active === "overview" && <Overview plugin={plugin} />}
          {active === "entries" && <EntriesPanel store={store} plugin={plugin} />}
          {active === "runs" && <RunsPanel store={store} pluginId={id} />}
          {active === "config" && <ConfigPanel pluginId={id} />}
          {active === "logs" && <LogsPanel pluginId={id} />}
          {active === "metrics" && <MetricsPanel store={store} pluginId={id} />}
          {active === "extensions" && <Extensions plugin={plugin} onChanged={() => setVersion((v) => v + 1)} />}
          {active === "ui" && plugin.ui && <PluginUi id={id} />}
        </ErrorBoundary>
      </div>
    </section>
  );
}

function Overview({ plugin }: { plugin: PluginDetail }) {
  const [reported, setReported] = useState<{ status: unknown; updated_at: string | null } | null>(null);
  useEffect(() => {
    api<{ status: unknown; updated_at: string | null }>(
      "GET",
      `/plugin/status?plugin_id=${encodeURIComponent(plugin.id)}`,
    ).then(setReported, () => setReported(null));
  }, [plugin.id, plugin.status]);
  return (
    <>
      <h2>{t("detail.overview")}</h2>
      <dl class="facts">
        <dt>{t("detail.state")}</dt>
        <dd>
          <StateBadge state={plugin.status} />
        </dd>
        <dt>{t("detail.type")}</dt>
        <dd>{plugin.type}</dd>
        <dt>{t("detail.version")}</dt>
        <dd>{plugin.version}</dd>
        <dt>{t("detail.pid")}</dt>
        <dd>{plugin.pid ?? "–"}</dd>
        <dt>{t("detail.author")}</dt>
        <dd>{plugin.author ?? "–"}</dd>
        <dt>{t("detail.description")}</dt>
        <dd>{plugin.description || "–"}</dd>
        <dt>{t("detail.folder")}</dt>
        <dd class="path">{plugin.dir}</dd>
      </dl>
      {plugin.errors.length > 0 && (
        <>
          <h3>{t("detail.errors")}</h3>
          <ul class="problems">
            {plugin.errors.map((e) => (
              <li key={e}>{e}</li>
            ))}
          </ul>
        </>
      )}
      {plugin.warnings.length > 0 && (
        <>
          <h3>{t("detail.warnings")}</h3>
          <ul class="problems warnings">
            {plugin.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </>
      )}
      <h3>{t("detail.reported")}</h3>
      {reported?.status != null ? (
        <>
          <p class="muted">{t("detail.updatedAt", { time: formatTime(reported.updated_at) })}</p>
          <JsonBlock value={reported.status} label={t("detail.reported")} />
        </>
      ) : (
        <p class="muted">{t("detail.notReported")}</p>
      )}
      {plugin.last_exit && (
        <>
          <h3>{t("detail.lastExit")}</h3>
          <JsonBlock value={plugin.last_exit} label={t("detail.lastExit")} />
        </>
      )}
      <h3>{t("detail.history")}</h3>
      <ol class="history" reversed>
        {[...plugin.history].reverse().map((h, i) => (
          <li key={i}>
            <time>{formatTime(h.time)}</time> <StateBadge state={h.state} />{" "}
            <span class="reason">{h.reason ?? ""}</span>
          </li>
        ))}
      </ol>
    </>
  );
}

function Extensions({ plugin, onChanged }: { plugin: PluginDetail; onChanged: () => void }) {
  const [feedback, setFeedback] = useState<Feedback | null>(null);
  const toggle = async (ext: string, action: "enable" | "disable") => {
    const label = t(action === "enable" ? "action.enable" : "action.disable");
    try {
      const answer = await api<{ state?: string }>("POST", `/plugin/${encodeURIComponent(ext)}/extension/${action}`);
      setFeedback({ kind: "ok", text: t("action.done", { action: label, id: ext, status: answer.state ?? "ok" }) });
    } catch (error) {
      setFeedback({ kind: "error", text: t("action.failed", { action: label, id: ext, message: errorText(error) }) });
    }
    onChanged();
  };
  return (
    <>
      <h2>{t("detail.extensions")}</h2>
      <ul class="extension-list">
        {plugin.extensions.map((ext) => {
          const action = ext.state === "disabled" ? "enable" : "disable";
          const label = t(action === "enable" ? "action.enable" : "action.disable");
          return (
            <li key={ext.id}>
              <a href={`#/plugins/${encodeURIComponent(ext.id)}`}>{ext.id}</a> <StateBadge state={ext.state} />
              {ext.reason && <span class="reason"> {ext.reason}</span>}{" "}
              <button type="button" onClick={() => void toggle(ext.id, action)} aria-label={`${label} ${ext.id}`}>
                {label}
              </button>
            </li>
          );
        })}
      </ul>
      <FeedbackLine feedback={feedback} />
    </>
  );
}

/**
 * The plugin's own page runs without this page's origin (no allow-same-origin): it cannot read the manager's token
 * or call the API as the manager, and the server refuses its state-changing requests (their Origin is `null`). With
 * an API token it cannot be shown at all: a frame's navigation carries no Authorization header.
 */
function PluginUi({ id }: { id: string }) {
  const path = `/plugin/${encodeURIComponent(id)}/ui/`;
  if (apiToken() !== null) {
    return (
      <>
        <h2>{t("detail.ui")}</h2>
        <p class="notice">{t("ui.tokenMode")}</p>
      </>
    );
  }
  return (
    <>
      <h2>{t("detail.ui")}</h2>
      <p>
        <a href={path} target="_blank" rel="noopener noreferrer">
          {t("ui.openTab")}
        </a>
      </p>
      <iframe class="plugin-ui" src={path} title={t("ui.frameTitle", { id })} sandbox="allow-scripts allow-forms" />
    </>
  );
}
