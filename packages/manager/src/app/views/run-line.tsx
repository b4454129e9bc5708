/**
 * One run, live: its state, a progress bar, stage and message, a cancel button while it goes, and how it ended.
 * `inTable`: the runs table shows the state in its own column, and no result.
 */
import { useEffect, useState } from "preact/hooks";
import type { RunInfo } from "../api-types.ts";
import { type Feedback, FeedbackLine } from "../feedback-line.tsx";
import { JsonBlock } from "../json-block.tsx";
import { ENDED_RUN_STATES, type LiveStore } from "../live-store.ts";
import { api, errorText } from "../server-api.ts";
import { StateBadge } from "../state-badge.tsx";
import { t } from "../strings.ts";

export function RunLine(props: { store: LiveStore; runId: string; label: string; inTable?: boolean }) {
  const { store, runId, label, inTable = false } = props;
  const run: RunInfo | undefined = store.runs.get(runId);
  const [feedback, setFeedback] = useState<Feedback | null>(null);
  const [canceling, setCanceling] = useState(false);
  const status = run?.status ?? "queued";
  const ended = ENDED_RUN_STATES.has(status);
  useEffect(() => {
    // The socket may have reported the run before the page knew its id: read it once.
    if (!run)
      api<RunInfo>("GET", `/runs/${encodeURIComponent(runId)}`).then(
        (r) => store.noteRun(r),
        () => {},
      );
  }, [runId]);
  const cancel = async () => {
    setCanceling(true);
    try {
      await api("POST", `/runs/${encodeURIComponent(runId)}/cancel`);
    } catch (error) {
      setFeedback({ kind: "error", text: errorText(error) });
      setCanceling(false);
    }
  };
  return (
    <div class="run-line">
      {!inTable && <StateBadge state={status} />}{" "}
      <progress
        max={100}
        value={run?.progress ?? (ended ? 100 : undefined)}
        aria-label={t("runs.progressOf", { run: label })}
      />{" "}
      {run?.stage && <span>{run.stage}</span>} {run?.message && <span class="muted">{run.message}</span>}
      {!ended && (
        <button
          type="button"
          class="small danger"
          disabled={canceling}
          aria-label={t("runs.cancelOf", { run: label })}
          onClick={() => void cancel()}
        >
          {t("runs.cancel")}
        </button>
      )}
      {run?.error && ended && (
        <p class="feedback error">
          {run.error.code}: {run.error.message}
        </p>
      )}
      {run && ended && !run.error && !inTable && (
        <JsonBlock value={run.result} label={t("runs.resultOf", { run: label })} />
      )}
      <FeedbackLine feedback={feedback} />
    </div>
  );
}
