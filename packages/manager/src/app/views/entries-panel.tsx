/**
 * A plugin's entries, each with a form generated from its input schema: "Run" calls it (`POST /plugin/trigger`) and
 * shows the result, or the error with each field's problem beside the field; "Run in background" starts a run
 * (`POST /runs`) whose progress comes live over the admin socket, with a cancel button. A schema that cannot be
 * drawn costs only its own card.
 */
import { useState } from "preact/hooks";
import type { EntryInfo, PluginInfo } from "../api-types.ts";
import { ErrorBoundary } from "../error-boundary.tsx";
import { JsonBlock } from "../json-block.tsx";
import type { LiveStore } from "../live-store.ts";
import { SchemaForm } from "../schema-form.tsx";
import { fieldErrorsOf, idSafe, initialValue, isRecord, safeSchema } from "../schema-values.ts";
import { ApiError, api } from "../server-api.ts";
import { t } from "../strings.ts";
import { RunLine } from "./run-line.tsx";

export function EntriesPanel({ store, plugin }: { store: LiveStore; plugin: PluginInfo }) {
  if (plugin.entries.length === 0) return <p class="muted">{t("entries.none")}</p>;
  return (
    <>
      <h2>{t("detail.entries")}</h2>
      {plugin.entries.map((entry) => (
        <ErrorBoundary key={entry.id} what={entry.id}>
          <EntryCard store={store} pluginId={plugin.id} entry={entry} />
        </ErrorBoundary>
      ))}
    </>
  );
}

type Outcome = { ok: true; data: unknown } | { ok: false; code: string; message: string; details: unknown };

function EntryCard({ store, pluginId, entry }: { store: LiveStore; pluginId: string; entry: EntryInfo }) {
  const [schema] = useState(() => safeSchema(entry.input_schema) ?? { type: "object" });
  const [args, setArgs] = useState<Record<string, unknown>>(() => {
    const initial = initialValue(schema);
    return isRecord(initial) ? initial : {};
  });
  const [busy, setBusy] = useState<"run" | "background" | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [runId, setRunId] = useState<string | null>(null);
  const formId = `entry-${idSafe(entry.id)}`;
  const errors = outcome && !outcome.ok ? fieldErrorsOf(outcome.details) : new Map<string, string>();
  const trigger = async () => {
    setBusy("run");
    setOutcome(null);
    try {
      const answer = await api<{ data: unknown }>("POST", "/plugin/trigger", {
        body: { plugin_id: pluginId, entry_id: entry.id, args },
      });
      setOutcome({ ok: true, data: answer.data });
    } catch (error) {
      setOutcome(failureOf(error));
    } finally {
      setBusy(null);
    }
  };
  const startRun = async () => {
    setBusy("background");
    setOutcome(null);
    try {
      const answer = await api<{ run_id: string }>("POST", "/runs", {
        body: { plugin_id: pluginId, entry_id: entry.id, args },
      });
      setRunId(answer.run_id);
    } catch (error) {
      setOutcome(failureOf(error));
    } finally {
      setBusy(null);
    }
  };
  const titleId = `${formId}-title`;
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
        <SchemaForm schema={schema} value={args} onChange={setArgs} formId={formId} errors={errors} />
        <div class="buttons">
          <button type="submit" disabled={busy !== null} aria-label={t("entries.runOf", { entry: entry.name })}>
            {t("entries.run")}
          </button>
          <button
            type="button"
            class="secondary"
            disabled={busy !== null}
            aria-label={t("entries.runBackgroundOf", { entry: entry.name })}
            onClick={() => void startRun()}
          >
            {t("entries.runBackground")}
          </button>
        </div>
      </form>
      {outcome?.ok && <JsonBlock value={outcome.data} label={t("entries.resultOf", { entry: entry.name })} />}
      {outcome && !outcome.ok && (
        <div class="feedback error" role="alert">
          <strong>{t("entries.failed", { code: outcome.code })}</strong> {outcome.message}
        </div>
      )}
      {runId && <RunLine store={store} runId={runId} label={entry.name} />}
    </article>
  );
}

function failureOf(error: unknown): Outcome {
  if (error instanceof ApiError) {
    // /plugin/trigger answers `{ success: false, error }`; other routes the plain error body.
    const inner = isRecord(error.body) && isRecord(error.body.error) ? error.body.error : null;
    return {
      ok: false,
      code: typeof inner?.code === "string" ? inner.code : error.code,
      message: typeof inner?.message === "string" ? inner.message : error.message,
      details: inner ? inner.details : error.details,
    };
  }
  return { ok: false, code: "ERROR", message: String(error), details: null };
}
