/**
 * A plugin's entries, each with a form generated from its input schema: "Run" calls it (`POST /plugin/trigger`) and
 * shows the result, or the error with each field's problem beside the field; "Run in background" starts a run
 * (`POST /runs`) whose progress comes live over the admin socket, with a cancel button. The runs section lists the
 * plugin's runs the same way.
 */
import { useEffect, useState } from "preact/hooks";
import type { EntryInfo, PluginInfo, RunInfo } from "../api-types.ts";
import type { LiveStore } from "../live-store.ts";
import { formatTime, JsonBlock, StateBadge } from "../page-parts.tsx";
import { FeedbackLine, type Feedback } from "../plugin-actions.tsx";
import { fieldErrorsOf, initialValue, SchemaForm } from "../schema-form.tsx";
import { ApiError, api } from "../server-api.ts";
import { t } from "../strings.ts";

const ENDED = new Set(["succeeded", "failed", "canceled", "timeout"]);

export function EntriesPanel({ store, plugin }: { store: LiveStore; plugin: PluginInfo }) {
  if (plugin.entries.length === 0) return <p class="muted">{t("entries.none")}</p>;
  return (
    <>
      <h2>{t("detail.entries")}</h2>
      {plugin.entries.map((entry) => (
        <EntryCard key={entry.id} store={store} pluginId={plugin.id} entry={entry} />
      ))}
    </>
  );
}

type Outcome = { ok: true; data: unknown } | { ok: false; code: string; message: string; details: unknown };

function EntryCard({ store, pluginId, entry }: { store: LiveStore; pluginId: string; entry: EntryInfo }) {
  const schema = entry.input_schema ?? { type: "object" };
  const [args, setArgs] = useState<Record<string, unknown>>(
    () => (initialValue(schema) ?? {}) as Record<string, unknown>,
  );
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [runId, setRunId] = useState<string | null>(null);
  const idPrefix = `entry-${entry.id.replace(/[^\w-]/g, "_")}`;
  const errors = outcome && !outcome.ok ? fieldErrorsOf(outcome.details) : new Map<string, string>();
  const trigger = async () => {
    setBusy(true);
    setOutcome(null);
    try {
      const answer = await api<{ data: unknown }>("POST", "/plugin/trigger", {
        body: { plugin_id: pluginId, entry_id: entry.id, args },
      });
      setOutcome({ ok: true, data: answer.data });
    } catch (error) {
      setOutcome(failureOf(error));
    } finally {
      setBusy(false);
    }
  };
  const startRun = async () => {
    setOutcome(null);
    try {
      const answer = await api<{ run_id: string; status: string }>("POST", "/runs", {
        body: { plugin_id: pluginId, entry_id: entry.id, args },
      });
      setRunId(answer.run_id);
    } catch (error) {
      setOutcome(failureOf(error));
    }
  };
  const run = runId ? store.runs.get(runId) : undefined;
  const titleId = `${idPrefix}-title`;
  return (
    <article class="card entry" aria-labelledby={titleId}>
      <h3 id={titleId}>
        {entry.name}
        {entry.name !== entry.id && <span class="muted"> ({entry.id})</span>}
      </h3>
      <p class="muted">
        {entry.kind}
        {entry.timeout != null && ` · ${t("entries.timeout", { seconds: entry.timeout })}`}
        {!entry.enabled && ` · ${t("entries.disabled")}`}
      </p>
      {entry.description && <p>{entry.description}</p>}
      <form
        noValidate
        aria-label={entry.name}
        onSubmit={(e) => {
          e.preventDefault();
          void trigger();
        }}
      >
        <SchemaForm schema={schema} value={args} onChange={setArgs} idPrefix={idPrefix} errors={errors} />
        <div class="buttons">
          <button type="submit" disabled={busy} aria-label={`${t("entries.run")} ${entry.name}`}>
            {t("entries.run")}
          </button>
          <button type="button" class="secondary" onClick={() => void startRun()}>
            {t("entries.runBackground")}
          </button>
        </div>
      </form>
      {outcome?.ok && (
        <section aria-label={`${t("entries.result")}: ${entry.name}`}>
          <h4>{t("entries.result")}</h4>
          <JsonBlock value={outcome.data} />
        </section>
      )}
      {outcome && !outcome.ok && (
        <div class="feedback error" role="alert">
          <strong>{t("entries.failed", { code: outcome.code })}</strong> {outcome.message}
        </div>
      )}
      {runId && <RunLine store={store} runId={runId} run={run} />}
    </article>
  );
}

function failureOf(error: unknown): Outcome {
  if (error instanceof ApiError) {
    // /plugin/trigger answers `{ success: false, error }`; other routes the plain error body.
    const inner = (error.body as { error?: { code: string; message: string; details: unknown } } | null)?.error;
    return {
      ok: false,
      code: inner?.code ?? error.code,
      message: inner?.message ?? error.message,
      details: inner?.details ?? error.details,
    };
  }
  return { ok: false, code: "ERROR", message: String(error), details: null };
}

/** A run's state, progress and cancel button; `inTable`: its row shows the state already, and no result. */
function RunLine(props: { store: LiveStore; runId: string; run: RunInfo | undefined; inTable?: boolean }) {
  const { store, runId, run, inTable = false } = props;
  const [feedback, setFeedback] = useState<Feedback | null>(null);
  const status = run?.status ?? "queued";
  const cancel = async () => {
    try {
      await api("POST", `/runs/${encodeURIComponent(runId)}/cancel`);
    } catch (error) {
      setFeedback({ kind: "error", text: error instanceof ApiError ? error.message : String(error) });
    }
  };
  useEffect(() => {
    // The socket may have reported the run before the page knew its id: read it once.
    if (!run)
      api<RunInfo>("GET", `/runs/${encodeURIComponent(runId)}`).then(
        (r) => store.noteRun(r),
        () => {},
      );
  }, [runId]);
  return (
    <div class="run-line">
      {!inTable && <StateBadge state={status} />}{" "}
      <progress
        max={100}
        value={run?.progress ?? (ENDED.has(status) ? 100 : undefined)}
        aria-label={t("runs.progressOf", { id: runId })}
      />{" "}
      {run?.stage && <span>{run.stage}</span>} {run?.message && <span class="muted">{run.message}</span>}
      {!ENDED.has(status) && (
        <button type="button" class="small danger" onClick={() => void cancel()}>
          {t("runs.cancel")}
        </button>
      )}
      {run &&
        ENDED.has(status) &&
        (run.error ? (
          <p class="feedback error">
            {run.error.code}: {run.error.message}
          </p>
        ) : inTable ? null : (
          <JsonBlock value={run.result} />
        ))}
      <FeedbackLine feedback={feedback} />
    </div>
  );
}

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
                  <RunLine store={store} runId={r.run_id} run={r} inTable />
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
